"""Enrol, train, recognise, record, query, roll back and delete, on real faces, through HTTP."""

from __future__ import annotations

import pytest

from tests.api.conftest import settings_for
from tests.api.flow import run_flow


def test_the_whole_flow_on_sqlite(make_app, tmp_path):
    app = make_app(settings_for(tmp_path))
    run_flow(app.test_client(), train_kind="train")
    # Latency is recorded per route rule, not per raw path (bounded label values).
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'endpoint="/dataset/<string:person_id>/image"' in text
    assert 'endpoint="/dataset/biden/image"' not in text
    assert 'facerec_faces_recognized_total{kind="known"}' in text


@pytest.mark.mariadb
def test_the_whole_flow_on_mariadb(make_app, mariadb_url, tmp_path):
    app = make_app(settings_for(tmp_path, database_url=mariadb_url("flow")))
    run_flow(app.test_client(), train_kind="optimized-train")
