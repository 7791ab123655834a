#!/usr/bin/env bash
# Offline checks of the deployment files, the same the tests in tests/k8s/ make:
#   every kustomization renders, every rendered object passes strict schema validation,
#   and hadolint passes on both Dockerfiles.
# Secrets: k8s/secrets.env is not in git, so each kustomization is rendered from a copy of k8s/
# with throw-away values where no secrets.env exists. Usage: scripts/check_k8s.sh [K8S_VERSION...]
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/.venv/bin:$PATH"
versions=("${@:-1.30.0}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r k8s "$work/k8s"

targets=(. $(cd k8s && find overlays -mindepth 2 -maxdepth 2 -name kustomization.yaml -printf '%h\n' | sort))
for target in "${targets[@]}"; do
    dir="$work/k8s/$target"
    if [[ ! -f "$dir/secrets.env" ]]; then
        printf 'DB_USER=facerec\nDB_PASSWORD=%s\nDB_ROOT_PASSWORD=%s\nFACEREC_API_KEYS=admin:%s\n' \
            "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" >"$dir/secrets.env"
    fi
    out="$work/rendered-${target//\//-}.yaml"
    kubectl kustomize "$dir" >"$out"
    echo "rendered k8s/$target: $(grep -c '^kind:' "$out") objects"
    for version in "${versions[@]}"; do
        kubernetes-validate --strict --quiet -k "$version" "$out"
        echo "  valid (strict) against Kubernetes $version"
    done
done

hadolint --config .hadolint.yaml Dockerfile database/Dockerfile
echo "hadolint: Dockerfile and database/Dockerfile clean"
