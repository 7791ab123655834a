"""Fixtures every test area shares: where the real faces and the model bundle are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FACES = SHARED / "faces"
PEOPLE = FACES / "people"
BUNDLE = ROOT / "models"


def people_images() -> dict[str, list[Path]]:
    """person id -> their images in shared/faces/people, sorted."""
    return {
        person.name: sorted(p for p in person.iterdir() if p.is_file())
        for person in sorted(PEOPLE.iterdir())
        if person.is_dir()
    }


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    if not (BUNDLE / "manifest.json").is_file():
        pytest.fail("no model bundle: run `make models` (make test builds it first)")
    return BUNDLE


@pytest.fixture(scope="session")
def analyzer(bundle_dir):
    from recognition import FaceAnalyzer

    return FaceAnalyzer.from_bundle(bundle_dir)


def faces_and_embeddings(analyzer, rgb):
    """Every face the analyzer finds in `rgb` and its embedding."""
    faces = analyzer.detect(rgb)
    return faces, analyzer.embed(rgb, faces)
