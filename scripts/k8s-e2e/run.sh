#!/usr/bin/env bash
# `make k8s-e2e`: the images and a real Kubernetes 1.20 node built on this machine, the scenario
# run on them, and the cluster stopped by PID at the end, on failure too (docs/deploy.md).
# Every step is cached under $CACHE; a second run rebuilds only what changed.
source "$(dirname "$0")/env.sh"
here=$REPO/scripts/k8s-e2e
[[ $(id -u) -eq 0 ]] || { log "needs root: containers, a kubelet, iptables"; exit 1; }
mkdir -p "$CACHE"

step() { # step NAME COMMAND...: run and time it
    local name=$1 started=$SECONDS
    shift
    "$@"
    log "$name: $((SECONDS - started)) s"
}

host_config() {
    # podman/buildah here: runc (crun refuses this VM's hybrid cgroups) and ulimits this VM may set
    # (it lacks CAP_SYS_RESOURCE, so the defaults' higher limits are refused).
    mkdir -p /etc/containers/containers.conf.d
    cat >/etc/containers/containers.conf.d/90-facerec-e2e.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
}

started=$SECONDS
step "packages" "$REPO/scripts/install-system-deps.sh" --k8s
host_config
step "kubernetes binaries" "$here/build-kubernetes.sh"
step "images" "$here/build-images.sh" "$E2E_TAG"
step "rebuilt api image" "$here/build-images.sh" "$E2E_TAG-next" api
trap '"$here/cluster.sh" down' EXIT
step "cluster up" "$here/cluster.sh" up
step "images into the node" "$here/cluster.sh" load \
    "localhost/facerec/api:$E2E_TAG" "localhost/facerec/api:$E2E_TAG-next" \
    "localhost/facerec/mariadb:$E2E_TAG"
step "scenario" "$REPO/.venv/bin/python" "$here/scenario.py" --tag "$E2E_TAG" \
    --next-tag "$E2E_TAG-next" --run-dir "$RUN_DIR" --faces "$FACES" --volumes "$E2E_VOLUMES"
log "k8s-e2e passed in $((SECONDS - started)) s"
