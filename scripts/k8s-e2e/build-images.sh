#!/usr/bin/env bash
# The api, edge and mariadb images, built with buildah from the repository's own Dockerfiles on
# the debootstrapped base (base-image.sh). `--layers` keeps every step's layer in podman's store,
# so a second run rebuilds only what changed.
#
# One deliberate shortcut: the model bundle comes from the repository's `models/` (`make models`
# builds it with the same `facerec-models build` and checks it), handed in as the `models` build
# context, instead of the Dockerfile's torch stage, which downloads ~5 GB of CUDA torch from PyPI.
#   build-images.sh [TAG [IMAGE...]]     (default: $E2E_TAG, and api edge mariadb)
# Each tag's images carry the tag in a label, so the same sources under a new tag make a new
# image: what `kubectl set image` rolls out in the scenario.
source "$(dirname "$0")/env.sh"
tag=${1:-$E2E_TAG}
shift || true
images=("$@")
((${#images[@]})) || images=(api edge mariadb)

[[ -f $REPO/models/manifest.json ]] || { log "no models/ bundle: run \`make models\` first"; exit 1; }
"$REPO/scripts/k8s-e2e/base-image.sh"

# The bundle where the `models` stage would have put it, readable by the images' user.
context=$CACHE/bundle-context
rm -rf "$context"
mkdir -p "$context/opt/facerec"
cp -a "$REPO/models" "$context/opt/facerec/models"
chmod -R a+rX,go-w "$context"

build() { # build TAG-NAME BUILDAH-ARGS...
    local name=$1
    shift
    log "building localhost/facerec/$name:$tag"
    buildah bud --quiet --layers --pull-never --format docker --network host \
        --build-arg "PYTHON_IMAGE=$BASE_IMAGE" --build-arg "DEBIAN_IMAGE=$BASE_IMAGE" \
        --label "org.opencontainers.image.revision=$(git -C "$REPO" rev-parse HEAD)" \
        --label "org.facerec.e2e.tag=$tag" \
        --tag "localhost/facerec/$name:$tag" "$@" "$REPO" >"$CACHE/build-$name.log" 2>&1 ||
        { tail -30 "$CACHE/build-$name.log" >&2; exit 1; }
}
contexts=(--build-context "ultraface=$ULTRAFACE" --build-context "models=$context")
for image in "${images[@]}"; do
    case "$image" in
        api | edge) build "$image" "${contexts[@]}" --target "$image" ;;
        mariadb) build mariadb --file "$REPO/database/Dockerfile" ;;
        *) log "unknown image $image"; exit 2 ;;
    esac
done
podman images --filter "reference=localhost/facerec/*:$tag" --format '{{.Repository}}:{{.Tag}} {{.Size}}' >&2
