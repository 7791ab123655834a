#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the tests need and this machine lacks; do nothing when all
# are there. `make test` and `.ci/run` both call it, so a fresh machine needs no other step.
#   scripts/install-system-deps.sh           install what is missing (as root, or through sudo)
#   scripts/install-system-deps.sh --check   only list what is missing (exit 1 if anything is)
#   scripts/install-system-deps.sh --k8s     also what `make k8s-e2e` needs: containers, a cluster
# Not installable from apt, so only reported: kubectl (tests/k8s), on the machine image.
set -euo pipefail

check_only=false
k8s=false
for arg in "$@"; do
    case "$arg" in
        --check) check_only=true ;;
        --k8s) k8s=true ;;
        *) echo "usage: $0 [--check] [--k8s]" >&2; exit 2 ;;
    esac
done

have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }

# package -> why the tests need it (checked by the command or file it provides).
missing=()
need() { missing+=("$1"); echo "missing: $1 ($2)"; }
have make || need make "the Makefile"
python3 -c 'import ensurepip, venv' 2>/dev/null || need python3-venv "the .venv"
have openssl || need openssl "scripts/check_k8s.sh's throw-away secrets"
have mariadbd || need mariadb-server "the MariaDB tests, on 127.0.0.1:3306"
have mariadb || need mariadb-client "the MariaDB tests' set-up"
have nginx || need nginx-light "the cluster's load balancer, the RTMP server"
rtmp=ngx_rtmp_module.so
[[ -e /usr/lib/nginx/modules/$rtmp || -e /usr/share/nginx/modules/$rtmp ]] ||
    need libnginx-mod-rtmp "live streams"
have ffmpeg || need ffmpeg "live streams"
have java || need openjdk-17-jre-headless "Spark (facerec-batch)"
have chromium || need chromium "the operator console's browser tests (tests/console)"
have chromedriver || need chromium-driver "selenium's driver for chromium (tests/console)"
if $k8s; then
    # Images: podman/buildah on runc (crun refuses this VM's hybrid cgroups), a debootstrapped base.
    have podman || need podman "scripts/k8s-e2e: running and saving images"
    have buildah || need buildah "scripts/k8s-e2e: building images"
    have runc || need runc "the OCI runtime of podman and containerd"
    have fuse-overlayfs || need fuse-overlayfs "podman's storage"
    have slirp4netns || need slirp4netns "podman's networking"
    have newuidmap || need uidmap "podman"
    have debootstrap || need debootstrap "the local base image (base images cannot be pulled)"
    # The cluster: Kubernetes 1.20 is built from Debian's source package with Debian's Go.
    have dpkg-source || need dpkg-dev "apt-get source kubernetes"
    have go || need golang-go "building Kubernetes 1.20"
    have etcd || need etcd-server "the control plane's store"
    have containerd || need containerd "the kubelet's container runtime"
    [[ -x /usr/lib/cni/bridge ]] || need containernetworking-plugins "pod networking (bridge, host-local)"
    have iptables || need iptables "kube-proxy, CNI portmap"
    have conntrack || need conntrack "kube-proxy"
    have socat || need socat "kubectl port-forward"
fi
have kubectl || echo "note: kubectl is not installed; tests/k8s needs it (not in apt)" >&2

if ((${#missing[@]} == 0)); then
    echo "system packages: all present"
    exit 0
fi
if $check_only; then
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)  # asks for a password where it must
else
    echo "cannot install ${missing[*]}: run this as root, or install sudo" >&2
    exit 1
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
echo "system packages: installed ${missing[*]}"
