"""Random values for every key of k8s/secrets.env.example, for clusters and renders that are
thrown away (tests/k8s, scripts/k8s-e2e, scripts/check_k8s.sh). URL-safe, as the example asks.

    python -m scripts.throwaway_secrets DIR...   one set of values into each DIR/secrets.env
                                                 that does not exist yet
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path


def throwaway_secrets() -> dict[str, str]:
    return {
        "DB_USER": "facerec",
        "DB_PASSWORD": secrets.token_hex(16),
        "DB_ROOT_PASSWORD": secrets.token_hex(16),
        "FACEREC_API_KEYS": f"admin:{secrets.token_hex(16)},recognize:{secrets.token_hex(16)}",
        "FACEREC_KEY_SECRET": secrets.token_hex(32),
    }


def write_secrets_env(directory: Path, values: dict[str, str]) -> None:
    """`directory`/secrets.env, the file a kustomization's secretGenerator reads."""
    (directory / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))


if __name__ == "__main__":
    values = throwaway_secrets()
    for directory in map(Path, sys.argv[1:]):
        if not (directory / "secrets.env").exists():
            write_secrets_env(directory, values)
