"""Scratch MariaDB databases for benchmarks (127.0.0.1:3306, root), dropped by the caller.

Imports nothing of the project, so a benchmark measuring another tree's code
(`track_store.py --before`) can use it without importing this tree's."""

from __future__ import annotations

import secrets

import pymysql

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def scratch_database(purpose: str = "sightings") -> tuple[str, str]:
    """A new empty database: (its name, its SQLAlchemy URL)."""
    name = f"facerec_bench_{purpose}_{secrets.token_hex(4)}"
    with pymysql.connect(**MARIADB, autocommit=True) as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return name, f"mysql+pymysql://root@127.0.0.1:3306/{name}"


def bulk_connection(name: str):
    """A connection to the scratch database, checks off for bulk inserts (the caller closes)."""
    connection = pymysql.connect(**MARIADB, database=name)
    with connection.cursor() as cursor:
        cursor.execute("SET unique_checks = 0, foreign_key_checks = 0")
    return connection


def drop(name: str) -> None:
    with pymysql.connect(**MARIADB, autocommit=True) as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def stored_bytes(name: str) -> int:
    """Data + index bytes of every table of database `name`, each rebuilt first (OPTIMIZE), so
    rows updated in place (a track's window dropped when it ends) leave no free space counted."""
    with pymysql.connect(**MARIADB, database=name) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        for (table,) in cursor.fetchall():
            cursor.execute(f"OPTIMIZE TABLE `{table}`")
            cursor.fetchall()
        cursor.execute(
            "SELECT SUM(data_length + index_length) FROM information_schema.tables "
            "WHERE table_schema = %s",
            (name,),
        )
        return int(cursor.fetchone()[0] or 0)
