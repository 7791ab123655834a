"""Fixtures: a classifier enrolled from tests/data/people, a local[2] Spark, a scratch MariaDB."""

from __future__ import annotations

import os
import secrets

import numpy as np
import pymysql
import pytest

from recognition import FaceClassifier, load_image
from recognition.calibration import threshold_for
from storage.model_store import ModelStore
from tests.conftest import FACES, MARIADB, mariadb_url, people_images

CLIP = FACES / "video" / "short_hamilton_clip.mp4"
SCENES = FACES / "scenes"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, analyzer):
    """Every person of tests/data/people enrolled (each photo's subject), published."""
    embeddings, labels = [], []
    for person, paths in people_images().items():
        for path in paths:
            _, chosen, embedding = analyzer.subject(load_image(path.read_bytes()))
            assert chosen is not None, path
            embeddings.append(embedding)
            labels.append(person)
    threshold = threshold_for(analyzer.embedder.name, len(set(labels)), 0.01)
    classifier = FaceClassifier.fit(
        np.stack(embeddings), labels, threshold, analyzer.embedding_space
    )
    directory = tmp_path_factory.mktemp("model-store")
    ModelStore(directory).publish(classifier)
    return directory


@pytest.fixture(scope="session")
def spark():
    from batch.job import spark_session

    session = spark_session("local[2]", app_name="facerec-batch-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def broken_video(tmp_path_factory):
    """A file named like a video that holds no video: the job must report and skip it."""
    path = tmp_path_factory.mktemp("broken") / "corrupt.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    return path


@pytest.fixture
def scratch_database_url(mariadb_server):
    """An empty MariaDB database of its own, dropped afterwards."""
    try:
        admin = pymysql.connect(**MARIADB, connect_timeout=5, autocommit=True)
    except pymysql.MySQLError as error:
        pytest.fail(f"MariaDB is not reachable on {MARIADB['host']}:{MARIADB['port']}: {error}")
    name = f"facerec_batch_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield mariadb_url(name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
