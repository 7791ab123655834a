#!/bin/bash
# The MariaDB image's probe: succeeds once the server answers on its TCP port. The server opens
# that port only after InnoDB has started and after entrypoint.sh's first-start set-up (which
# runs with networking off), so one check serves --connect and --innodb_initialized alike; both
# flags are accepted so that probes written for the official image keep working. `ping` succeeds
# even when the server refuses the (anonymous) login: no credentials live in a probe.
set -euo pipefail
for flag in "$@"; do
    case "$flag" in
        --connect | --innodb_initialized) ;;
        *) echo "healthcheck.sh: unknown option $flag" >&2; exit 2 ;;
    esac
done
if mariadb-admin --host=127.0.0.1 --port=3306 --connect-timeout=4 ping >/dev/null 2>&1; then
    exit 0
fi
echo "MariaDB does not answer on 127.0.0.1:3306" >&2
exit 1
