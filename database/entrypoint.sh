#!/bin/bash
# The MariaDB image's entry point. On an empty data directory: create the system tables, then,
# on a server that listens only on a private socket, set root's password, create
# $MARIADB_DATABASE and $MARIADB_USER, and load /docker-entrypoint-initdb.d/*.sql into it. The
# server stops, and only then does the real one start (so no client ever sees a half-made
# database). Later starts go straight to the server.
set -euo pipefail

datadir=/var/lib/mysql

sql_string() {  # $1 as a single-quoted SQL string literal
    local value=${1//\\/\\\\}
    printf "'%s'" "${value//\'/\'\'}"
}

initialise() {
    : "${MARIADB_DATABASE:?is required on first start}" "${MARIADB_USER:?is required on first start}"
    : "${MARIADB_PASSWORD:?is required on first start}" "${MARIADB_ROOT_PASSWORD:?is required on first start}"
    [[ $MARIADB_DATABASE =~ ^[A-Za-z0-9_]+$ ]] || { echo "MARIADB_DATABASE: letters, digits, _ only" >&2; exit 1; }
    echo "entrypoint: empty data directory, initialising $MARIADB_DATABASE"
    mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
        --skip-test-db >/dev/null
    local socket
    socket=$(mktemp -u /tmp/mariadb-init.XXXXXX.sock)
    mariadbd --datadir="$datadir" --skip-networking --socket="$socket" --pid-file="$socket.pid" &
    local pid=$!
    for _ in $(seq 60); do
        mariadb-admin --socket="$socket" --user=root ping >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "entrypoint: mariadbd exited during set-up" >&2; exit 1; }
        sleep 1
    done
    local user password
    user=$(sql_string "$MARIADB_USER")
    password=$(sql_string "$MARIADB_PASSWORD")
    mariadb --socket="$socket" --user=root <<SQL
DELETE FROM mysql.global_priv WHERE User = '';
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");
CREATE DATABASE \`$MARIADB_DATABASE\`;
CREATE USER $user@'%' IDENTIFIED BY $password;
GRANT ALL ON \`$MARIADB_DATABASE\`.* TO $user@'%';
FLUSH PRIVILEGES;
SQL
    local script
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [[ -e $script ]] || continue
        echo "entrypoint: loading $script"
        mariadb --socket="$socket" --user=root --password="$MARIADB_ROOT_PASSWORD" \
            "$MARIADB_DATABASE" <"$script"
    done
    kill "$pid"
    wait "$pid"
    echo "entrypoint: initialised"
}

if [[ ${1:-} == mariadbd && ! -d $datadir/mysql ]]; then
    initialise
fi
exec "$@"
