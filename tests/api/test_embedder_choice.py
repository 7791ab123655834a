"""FACEREC_EMBEDDER and FACEREC_BACKEND are checked when the settings are read: a choice that
could not run, or could not train, stops the start-up with a message naming the variable."""

import pytest

from api.config import Settings


def test_an_unknown_embedder_stops_the_start_up(monkeypatch):
    monkeypatch.setenv("FACEREC_EMBEDDER", "arcface")
    with pytest.raises(ValueError, match=r"unknown embedder 'arcface' \(FACEREC_EMBEDDER\)"):
        Settings.from_env()


def test_an_unknown_backend_stops_the_start_up(monkeypatch):
    monkeypatch.setenv("FACEREC_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match=r"unknown backend 'tensorflow' \(FACEREC_BACKEND\)"):
        Settings.from_env()


def test_the_torch_backend_runs_casia_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("FACEREC_EMBEDDER", raising=False)
    monkeypatch.setenv("FACEREC_BACKEND", "torch")
    assert Settings.from_env().embedder == "casia"
    monkeypatch.setenv("FACEREC_EMBEDDER", "sface+dlib")
    with pytest.raises(ValueError, match="FACEREC_BACKEND=torch runs only"):
        Settings.from_env()


def test_the_default_is_sface_and_dlib_fused(monkeypatch):
    monkeypatch.delenv("FACEREC_EMBEDDER", raising=False)
    monkeypatch.delenv("FACEREC_BACKEND", raising=False)
    assert (Settings.from_env().embedder, Settings().embedder) == ("sface+dlib", "sface+dlib")
