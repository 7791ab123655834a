#!/usr/bin/env bash
# The local base image: Debian minbase + Python 3.11 (bookworm's own), made with debootstrap and
# imported into podman, because no base image can be pulled here. Cached as a tarball.
source "$(dirname "$0")/env.sh"

if podman image exists "$BASE_IMAGE"; then
    log "base image $BASE_IMAGE: present"
    exit 0
fi
tarball=$CACHE/base-$DEBIAN_SUITE.tar
if [[ ! -s $tarball ]]; then
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    log "debootstrap $DEBIAN_SUITE (minbase) into $root"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        "$DEBIAN_SUITE" "$root" http://deb.debian.org/debian >"$CACHE/debootstrap.log"
    # Trust the CAs this machine trusts beyond Debian's (a TLS-inspecting egress proxy's): pip
    # inside a build must reach PyPI exactly as pip on the host does.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >/dev/null
    fi
    # Debian's own python3 refuses system-wide pip installs (PEP 668); the images install into
    # their own virtual environments, or deliberately into the build stage's system Python.
    rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi
log "importing $tarball as $BASE_IMAGE"
podman import --change 'CMD ["/bin/bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
