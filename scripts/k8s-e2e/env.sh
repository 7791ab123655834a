# Sourced by every scripts/k8s-e2e step: where things are cached and which versions they are.
# Everything lives under one directory outside the repository; each artefact's name carries the
# version it was built from, so a version bump rebuilds it and nothing else.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Vendored in the repository, so that a clone needs nothing beside it: the UltraFace files (the
# images' `ultraface` build context) and the real faces the scenario enrols and streams.
ULTRAFACE=$REPO/third_party/ultraface
FACES=$REPO/tests/data
CACHE=${FACEREC_K8S_CACHE:-$HOME/.cache/facerec-k8s}
# Debian 12's package of Kubernetes 1.20 (the newest Kubernetes that Debian builds from source).
K8S_DEB_VERSION=1.20.5+really1.20.2-1.1+deb12u1
K8S_BIN=$CACHE/kubernetes-$K8S_DEB_VERSION/bin
DEBIAN_SUITE=bookworm
# The debootstrapped base image every image here starts from (base images cannot be pulled).
BASE_IMAGE=localhost/facerec/base:$DEBIAN_SUITE
# Tag of the images this run builds and the e2e overlay deploys.
E2E_TAG=${E2E_TAG:-e2e}
# The running cluster: pid files, logs, etcd data, kubelet state. Wiped by `cluster.sh down`.
RUN_DIR=${FACEREC_K8S_RUN:-$CACHE/run}
# The hostPath volumes k8s/overlays/e2e names (its paths are fixed there); made empty by `up`.
E2E_VOLUMES=/var/lib/facerec-e2e

log() { printf '[k8s-e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
