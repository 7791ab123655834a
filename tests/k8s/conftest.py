"""Render the kustomizations once per session, the way an operator would, with throw-away secrets.

k8s/secrets.env is not in git (real credentials never are), so each render works on a copy of
k8s/ with a generated secrets.env beside every kustomization that asks for one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.throwaway_secrets import throwaway_secrets, write_secrets_env

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
# Deployable entry points: the production kustomization and every overlay.
TARGETS = ["."] + sorted(
    str(p.parent.relative_to(K8S)) for p in (K8S / "overlays").glob("*/kustomization.yaml")
)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render k8s/")
    return path


def copy_k8s(tmp: Path) -> Path:
    copy = tmp / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    return copy


def render(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )


class Rendered:
    """The objects one kustomization renders to, with the secrets it was rendered with."""

    def __init__(self, target: str, text: str, secret_values: dict[str, str]):
        self.target = target
        self.text = text
        self.secret_values = secret_values
        self.objects = [doc for doc in yaml.safe_load_all(text) if doc]

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str) -> dict:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"].startswith(name)]
        assert len(found) == 1, f"{self.target}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def pod_specs(self) -> list[tuple[dict, dict]]:
        """(workload, pod spec) for every object that runs pods."""
        return [
            (o, o["spec"]["template"]["spec"])
            for o in self.objects
            if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
        ]


@pytest.fixture(scope="session")
def rendered_all(tmp_path_factory) -> dict[str, Rendered]:
    copy = copy_k8s(tmp_path_factory.mktemp("render"))
    # One set of values everywhere: an overlay may take its Secret from the one it builds on
    # (overlays/e2e from overlays/local), so every secrets.env exists before anything renders.
    values = throwaway_secrets()
    for target in TARGETS:
        write_secrets_env(copy / target, values)
    result = {}
    for target in TARGETS:
        done = render(copy / target)
        assert done.returncode == 0, f"kubectl kustomize k8s/{target} failed:\n{done.stderr}"
        result[target] = Rendered(target, done.stdout, values)
    return result


@pytest.fixture(params=TARGETS, ids=lambda t: "k8s" if t == "." else t)
def rendered(request, rendered_all) -> Rendered:
    return rendered_all[request.param]


@pytest.fixture
def production(rendered_all) -> Rendered:
    return rendered_all["."]


@pytest.fixture
def local(rendered_all) -> Rendered:
    return rendered_all["overlays/local"]
