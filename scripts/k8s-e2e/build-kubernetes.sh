#!/usr/bin/env bash
# Kubernetes 1.20's server binaries, built from Debian 12's source package with Debian's Go (the
# package's own build: GOPATH mode, `make WHAT=...`). Cached under $K8S_BIN; ~8 min cold on 2 cores.
source "$(dirname "$0")/env.sh"

binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
all_built() {
    local b
    for b in "${binaries[@]}"; do [[ -x $K8S_BIN/$b ]] || return 1; done
}
if all_built; then
    log "kubernetes $K8S_DEB_VERSION: cached in $K8S_BIN"
    exit 0
fi

src=$CACHE/src
mkdir -p "$src"
tree=$src/kubernetes-${K8S_DEB_VERSION%-*}
if [[ ! -d $tree ]]; then
    # `apt-get source` needs a deb-src line; add one beside Debian's own sources when missing.
    if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            >/etc/apt/sources.list.d/facerec-deb-src.sources
        apt-get update -qq
    fi
    log "apt-get source kubernetes=$K8S_DEB_VERSION"
    (cd "$src" && apt-get source -qq "kubernetes=$K8S_DEB_VERSION" >/dev/null)
fi

log "building ${binaries[*]} (log: $CACHE/kubernetes-build.log)"
gopath=$tree/.go
mkdir -p "$gopath/src/k8s.io"
[[ -L $gopath/src/k8s.io/kubernetes ]] || ln -s ../../.. "$gopath/src/k8s.io/kubernetes"
(
    cd "$gopath/src/k8s.io/kubernetes"
    export GOPATH=$gopath GO111MODULE=off CGO_ENABLED=0 HOME=$CACHE/go-home
    make WHAT="${binaries[*]/#/cmd/}"
) >"$CACHE/kubernetes-build.log" 2>&1 || { tail -30 "$CACHE/kubernetes-build.log" >&2; exit 1; }

mkdir -p "$K8S_BIN.tmp"
for b in "${binaries[@]}"; do
    cp "$tree/_output/bin/$b" "$K8S_BIN.tmp/"
done
rm -rf "$K8S_BIN"
mv "$K8S_BIN.tmp" "$K8S_BIN"
log "kubernetes built: $(du -sh "$K8S_BIN" | cut -f1) in $K8S_BIN"
