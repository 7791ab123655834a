#!/usr/bin/env bash
# A one-node Kubernetes 1.20 on this machine, every component bound to 127.0.0.1:
#   cluster.sh up     etcd, containerd, kube-apiserver, controller-manager, scheduler, kubelet and
#                     kube-proxy; returns when the node is Ready. kubectl: $RUN_DIR/kubeconfig.
#   cluster.sh load IMAGE...   copy podman images into the node's containerd (skipped when the
#                     same image ID is there already)
#   cluster.sh down   delete the workloads, stop every process by its PID file, tear the pod network
#                     down, unmount and remove $RUN_DIR. Safe to run twice, or after a failed `up`.
# A throw-away test cluster, never exposed: the API server listens on 127.0.0.1 only, with a
# self-signed certificate, one random bearer token for every client and AlwaysAllow authorization.
source "$(dirname "$0")/env.sh"

NODE=facerec-e2e
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.0.0.0/24 # k8s/overlays/e2e pins MariaDB's Service at 10.0.0.53
BRIDGE=cni-facerec
# The node's address: the kubelet refuses a loopback one, so it gets a private address of its own,
# added to `lo` (no route leads here from any other host), and binds to it.
NODE_IP=10.245.255.1
KUBECONFIG_FILE=$RUN_DIR/kubeconfig
SOCKET=$RUN_DIR/containerd.sock
PAUSE_IMAGE=localhost/facerec/pause:3.4
# Images stay between runs (they cannot be pulled back); containers and state do not.
CONTAINERD_ROOT=$CACHE/containerd
# Stop order: the node first, then the control plane, the store last.
COMPONENTS=(kube-proxy kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd)

kubectl() { command kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr() { command ctr --address "$SOCKET" --namespace k8s.io "$@"; }

pid_of() { cat "$RUN_DIR/pids/$1.pid" 2>/dev/null; }
running() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

start() { # start NAME COMMAND...: in its own session, logged, its PID recorded
    local name=$1
    shift
    setsid "$@" >"$RUN_DIR/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/pids/$name.pid"
}

wait_until() { # wait_until SECONDS WHAT COMMAND...: poll COMMAND every 0.5 s
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

write_configs() {
    mkdir -p "$RUN_DIR"/{pids,logs,pki,cni,cni-ipam,kubelet} "$CONTAINERD_ROOT"
    openssl genrsa -out "$RUN_DIR/pki/service-account.key" 2048 2>/dev/null
    local token
    token=$(openssl rand -hex 24)
    echo "$token,e2e-admin,e2e-admin,system:masters" >"$RUN_DIR/pki/tokens.csv"
    cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: e2e, user: {token: "$token"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: e2e}}]
current-context: e2e
EOF
    cat >"$RUN_DIR/containerd.toml" <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$RUN_DIR/containerd"
[grpc]
  address = "$SOCKET"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE (this VM) no process may lower its oom_score_adj, as the kubelet asks
  # for the pod sandbox (-998): keep every container at or above containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN_DIR/cni"
EOF
    cat >"$RUN_DIR/cni/10-facerec.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "facerec-e2e",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$RUN_DIR/cni-ipam",
               "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

up() {
    if running kube-apiserver; then
        log "cluster already up (kubectl --kubeconfig $KUBECONFIG_FILE)"
        return 0
    fi
    down quiet
    write_configs
    ip addr replace "$NODE_IP/32" dev lo
    # The volumes, owned by the users the pods run as (hostPath ignores fsGroup).
    rm -rf "$E2E_VOLUMES"
    mkdir -p "$E2E_VOLUMES/models" "$E2E_VOLUMES/mariadb"
    chown 10001:10001 "$E2E_VOLUMES/models"
    chown 999:999 "$E2E_VOLUMES/mariadb"
    local bin=$K8S_BIN pki=$RUN_DIR/pki
    log "starting etcd and containerd"
    start etcd etcd --name e2e --data-dir "$RUN_DIR/etcd" \
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster e2e=http://127.0.0.1:2380
    start containerd containerd --config "$RUN_DIR/containerd.toml"
    wait_until 30 etcd curl -fsS http://127.0.0.1:2379/health

    log "starting the control plane"
    start kube-apiserver "$bin/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 --cert-dir "$pki" \
        --token-auth-file "$pki/tokens.csv" \
        --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode AlwaysAllow \
        --service-account-key-file "$pki/service-account.key" \
        --service-account-signing-key-file "$pki/service-account.key" \
        --service-account-issuer https://kubernetes.default.svc \
        --kubelet-preferred-address-types InternalIP
    wait_until 90 kube-apiserver kubectl get --raw /healthz
    start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
        --address 127.0.0.1 --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
        --service-account-private-key-file "$pki/service-account.key" \
        --root-ca-file "$pki/apiserver.crt" --allocate-node-cidrs=false
    start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
        --address 127.0.0.1 --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

    log "starting the node: kubelet and kube-proxy"
    wait_until 30 containerd ctr version
    load_pause_image
    start kubelet "$bin/kubelet" --kubeconfig "$KUBECONFIG_FILE" --hostname-override "$NODE" \
        --node-ip "$NODE_IP" --address "$NODE_IP" --healthz-bind-address 127.0.0.1 --read-only-port 0 \
        --container-runtime remote --container-runtime-endpoint "unix://$SOCKET" \
        --runtime-request-timeout 10m --root-dir "$RUN_DIR/kubelet" --cert-dir "$RUN_DIR/kubelet/pki" \
        --cgroup-driver cgroupfs --fail-swap-on=false --anonymous-auth=true \
        --authorization-mode AlwaysAllow --resolv-conf /etc/resolv.conf \
        --volume-plugin-dir "$RUN_DIR/kubelet/volume-plugins" \
        --eviction-hard 'memory.available<200Mi,nodefs.available<2%,imagefs.available<2%' \
        --image-gc-high-threshold 100 --image-gc-low-threshold 99
    start kube-proxy "$bin/kube-proxy" --kubeconfig "$KUBECONFIG_FILE" --hostname-override "$NODE" \
        --proxy-mode iptables --cluster-cidr "$POD_CIDR" --bind-address 127.0.0.1 \
        --nodeport-addresses "$NODE_IP/32" \
        --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
        --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 \
        --conntrack-tcp-timeout-close-wait 0
    wait_until 120 "node $NODE Ready" node_ready
    wait_until 60 "the default ServiceAccount" kubectl get serviceaccount default
    log "cluster up: kubectl --kubeconfig $KUBECONFIG_FILE"
}

node_ready() {
    [[ $(kubectl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

load_pause_image() {
    # The pod sandbox's image, made here: Kubernetes' own pause.c, static, in an empty image.
    if ! ctr images check "name==$PAUSE_IMAGE" 2>/dev/null | grep -q complete; then
        local tree=$CACHE/src/kubernetes-${K8S_DEB_VERSION%-*}
        local work
        work=$(mktemp -d)
        gcc -Os -Wall -Werror -static -DVERSION=v3.4-facerec -o "$work/pause" "$tree/build/pause/linux/pause.c"
        local container
        container=$(buildah from scratch)
        buildah copy "$container" "$work/pause" /pause >/dev/null
        buildah config --entrypoint '["/pause"]' --user 65535:65535 "$container"
        buildah commit --quiet "$container" "$PAUSE_IMAGE" >/dev/null
        buildah rm "$container" >/dev/null
        rm -rf "$work"
        load "$PAUSE_IMAGE"
    fi
}

load() { # load IMAGE...: podman's image into containerd, once per image ID
    local image id marker
    mkdir -p "$CACHE/containerd-loaded"
    for image in "$@"; do
        id=$(podman image inspect --format '{{.Id}}' "$image")
        marker=$CACHE/containerd-loaded/${image//[\/:]/_}
        if [[ $(cat "$marker" 2>/dev/null) == "$id" ]] && ctr images ls -q "name==$image" | grep -q .; then
            continue
        fi
        log "loading $image into containerd"
        podman save --quiet --format docker-archive "$image" | ctr images import - >/dev/null
        echo "$id" >"$marker"
    done
}

stop_pid() { # stop_pid NAME: SIGTERM, then SIGKILL after 15 s
    local pid
    pid=$(pid_of "$1") || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN_DIR/pids/$1.pid"
}

remove_kubelet_chains() { # the kubelet's own iptables chains, which kube-proxy --cleanup leaves
    local tool table rule chain
    for tool in iptables ip6tables; do
        command -v "$tool" >/dev/null || continue
        for table in filter nat mangle; do
            "$tool-save" -t "$table" 2>/dev/null | awk '/^-A / && $2 !~ /^KUBE-/ && / -j KUBE-/' |
                sed 's/^-A /-D /' | while read -r rule; do eval "$tool -t $table $rule" || true; done
            for chain in $("$tool-save" -t "$table" 2>/dev/null | awk -F'[: ]' '/^:KUBE-/{print $2}'); do
                "$tool" -t "$table" -F "$chain" 2>/dev/null || true
            done
            for chain in $("$tool-save" -t "$table" 2>/dev/null | awk -F'[: ]' '/^:KUBE-/{print $2}'); do
                "$tool" -t "$table" -X "$chain" 2>/dev/null || true
            done
        done
    done
}

down() {
    [[ -d $RUN_DIR ]] || return 0
    [[ ${1:-} == quiet ]] || log "stopping the cluster"
    # Let the kubelet tear the pods down itself (CNI DEL, volumes) while everything still runs.
    # Their grace periods (40 s, 60 s) are for real traffic; here one second does. The namespace
    # goes first, so no controller recreates the pods cut short.
    if running kube-apiserver && running kubelet; then
        kubectl delete namespace facerec --ignore-not-found --wait=false >/dev/null 2>&1 || true
        kubectl -n facerec delete pods --all --grace-period 1 --timeout 60s >/dev/null 2>&1 || true
        kubectl wait --for=delete namespace/facerec --timeout 90s >/dev/null 2>&1 || true
    fi
    local name
    for name in kube-proxy kubelet; do stop_pid "$name"; done
    # Whatever the kubelet left: kill its containers' tasks, remove containers and sandboxes.
    if running containerd; then
        local id
        for id in $(ctr tasks ls -q 2>/dev/null); do
            ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
            ctr tasks delete -f "$id" >/dev/null 2>&1 || true
        done
        for id in $(ctr containers ls -q 2>/dev/null); do
            ctr containers delete "$id" >/dev/null 2>&1 || true
        done
    fi
    for name in "${COMPONENTS[@]}"; do stop_pid "$name"; done
    [[ -x $K8S_BIN/kube-proxy ]] && "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
    remove_kubelet_chains
    local netns
    for netns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns delete "$netns" || true; done
    ip link delete "$BRIDGE" 2>/dev/null || true
    ip addr delete "$NODE_IP/32" dev lo 2>/dev/null || true
    # Pod volumes (tmpfs emptyDirs), sandbox /dev/shm, container rootfs: deepest first.
    findmnt -rn -o TARGET | grep "^$RUN_DIR/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$RUN_DIR" "$E2E_VOLUMES"
}

case "${1:-}" in
    up) up ;;
    load) shift; load "$@" ;;
    down) down ;;
    *) echo "usage: $0 up|load IMAGE...|down" >&2; exit 2 ;;
esac
