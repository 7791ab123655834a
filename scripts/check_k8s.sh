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
# Every secrets.env first: overlays/e2e takes its Secret from overlays/local.
python -m scripts.throwaway_secrets "${targets[@]/#/$work/k8s/}"
for target in "${targets[@]}"; do
    out="$work/rendered-${target//\//-}.yaml"
    kubectl kustomize "$work/k8s/$target" >"$out"
    echo "rendered k8s/$target: $(grep -c '^kind:' "$out") objects"
    if [[ $target == overlays/e2e ]]; then
        # For Kubernetes 1.20 only (beta PDB/HPA), which kubernetes-validate has no schemas for:
        # the real 1.20 API server validates it in `make k8s-e2e`.
        echo "  validated by the 1.20 API server in make k8s-e2e (scripts/k8s-e2e)"
        continue
    fi
    for version in "${versions[@]}"; do
        kubernetes-validate --strict --quiet -k "$version" "$out"
        echo "  valid (strict) against Kubernetes $version"
    done
done

hadolint --config .hadolint.yaml Dockerfile database/Dockerfile
echo "hadolint: Dockerfile and database/Dockerfile clean"
