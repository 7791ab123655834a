"""The model bundle: complete, traceable, verified, and rebuilt only when its inputs change."""

import json
import shutil

import pytest

from recognition.bundle import BundleError, load_manifest, verify_bundle
from tests.conftest import ULTRAFACE


def test_manifest_says_where_every_file_came_from(bundle_dir):
    manifest = load_manifest(bundle_dir)
    expected = {
        "mtcnn/pnet.onnx",
        "mtcnn/rnet.onnx",
        "mtcnn/onet.onnx",
        "facenet/inception_resnet_v1_casia.onnx",
        "facenet/inception_resnet_v1_casia.npz",
        "sface/sface_2021dec.onnx",
        "dlib/dlib_resnet_v1.onnx",
        "ultraface/version-RFB-320.onnx",
        "ultraface/version-RFB-640.onnx",
        "ultraface/version-slim-320.onnx",
    }
    assert set(manifest["files"]) == expected
    for entry in manifest["files"].values():
        assert len(entry["sha256"]) == 64
        assert entry["source"] and entry["license"] and entry["inputs"]
    for name in {
        n for n in expected if n.startswith(("mtcnn/", "facenet/", "dlib/")) and n.endswith(".onnx")
    }:
        assert manifest["files"][name]["max_abs_diff_vs_torch"] < 1e-4
    assert manifest["parity_checked_on"] == "real faces"
    assert "casia" in manifest["files"]["facenet/inception_resnet_v1_casia.onnx"]["license"].lower()


def test_verify_catches_an_altered_file(bundle_dir, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    assert verify_bundle(copy)["version"] == load_manifest(bundle_dir)["version"]
    with open(copy / "mtcnn/rnet.onnx", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(BundleError, match="sha256"):
        verify_bundle(copy)


def test_a_missing_bundle_says_how_to_build_it(tmp_path):
    with pytest.raises(BundleError, match="facerec-models build"):
        load_manifest(tmp_path)


@pytest.mark.torch
def test_rebuilding_an_unchanged_bundle_does_nothing(bundle_dir):
    from bundler.build import build

    before = {p: p.stat().st_mtime_ns for p in bundle_dir.rglob("*") if p.is_file()}
    manifest = build(bundle_dir, ULTRAFACE)
    after = {p: p.stat().st_mtime_ns for p in bundle_dir.rglob("*") if p.is_file()}
    assert before == after
    assert manifest == json.loads((bundle_dir / "manifest.json").read_text())
