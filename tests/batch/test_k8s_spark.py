"""k8s/spark renders and passes strict schema validation offline, like the rest of k8s/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

SPARK = ROOT / "k8s" / "spark"


def _validate(*paths: Path) -> None:
    validator = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(validator), "--strict", "--quiet", "-k", "1.30.0", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_spark_manifests_render_and_validate(tmp_path):
    if shutil.which("kubectl") is None:
        pytest.fail("needs kubectl (kustomize) to render k8s/spark")
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(SPARK)], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "spark.yaml").write_text(rendered)
    _validate(tmp_path / "spark.yaml", SPARK / "pod-template.yaml")
    kinds = {doc["kind"] for doc in yaml.safe_load_all(rendered)}
    assert {"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"} <= kinds


def test_executors_see_the_model_volume_read_only():
    pod = yaml.safe_load((SPARK / "pod-template.yaml").read_text())
    models = next(v for v in pod["spec"]["volumes"] if v["name"] == "models")
    assert models["persistentVolumeClaim"] == {"claimName": "facerec-models", "readOnly": True}
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert all(mount["readOnly"] for mount in mounts)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "facerec-secrets"
