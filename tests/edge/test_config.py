"""Environment first, flags on top, and the model chosen by name inside the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.client import base_url
from edge.config import EdgeConfig


def test_environment_then_overrides(monkeypatch):
    monkeypatch.setenv("FACEREC_EDGE_MARGIN", "0.4")
    monkeypatch.setenv("FACEREC_EDGE_QUEUE_SIZE", "7")
    monkeypatch.setenv("FACEREC_MODEL_BUNDLE", "/bundle")
    config = EdgeConfig.from_env()
    assert (config.margin, config.queue_size, config.threads) == (0.4, 7, 1)
    assert config.detector_path == Path("/bundle/ultraface/version-RFB-320.onnx")
    config = config.with_overrides(margin=0.1, queue_size=None, model_name="slim-320", unrelated=1)
    assert (config.margin, config.queue_size) == (0.1, 7)
    assert config.detector_path.name == "version-slim-320.onnx"


def test_explicit_model_wins_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.setenv("FACEREC_EDGE_MODEL", "/tmp/mine.onnx")
    assert EdgeConfig.from_env().detector_path == Path("/tmp/mine.onnx")
    with pytest.raises(ValueError, match="RFB-320"):
        _ = EdgeConfig(model_name="RFB-999").detector_path


def test_base_url_from_ip_address_or_api_url():
    assert base_url(None, "10.0.0.5") == "http://10.0.0.5:8000"
    assert base_url(None, "10.0.0.5:5000") == "http://10.0.0.5:5000"
    assert base_url("https://api.example/", "ignored") == "https://api.example"
    with pytest.raises(ValueError):
        base_url(None, None)
