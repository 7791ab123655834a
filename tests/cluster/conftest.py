"""One real cluster (a private mariadbd, 3 gunicorn replicas, nginx) for every scenario here.

The database is a private server on a free port, never the shared one on :3306, so the outage
scenario can stop it. Each replica runs one gunicorn worker (the machine has 2 cores).
"""

from __future__ import annotations

import pytest

from scripts.cluster import Cluster, ClusterConfig
from scripts.cluster.steps import enrol, face_crop, train
from tests.conftest import ROOT, people_images

# Enrolled before any scenario, all but one image each; alex_lacamoire joins in the hot swap.
INITIAL_PEOPLE = ("biden", "kit_harington", "obama", "rose_leslie")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, bundle_dir):
    if not (ROOT / "api" / "app.py").is_file() or not (ROOT / "gunicorn.conf.py").is_file():
        pytest.fail("the API (api/app.py, gunicorn.conf.py) is missing: nothing to cluster")
    config = ClusterConfig(root=tmp_path_factory.mktemp("cluster"), replicas=3, workers=1)
    with Cluster(config) as running:
        yield running


@pytest.fixture(scope="session")
def trained(cluster) -> str:
    """The cluster with INITIAL_PEOPLE enrolled and a model trained; its version."""
    images = people_images()
    for person in INITIAL_PEOPLE:
        enrol(cluster.url, person, images[person][:-1])
    return train(cluster.url)["model_version"]


@pytest.fixture(scope="session")
def obama_crop(analyzer) -> bytes:
    """A held-out face (never enrolled) that the first model knows."""
    return face_crop(analyzer, people_images()["obama"][-1])
