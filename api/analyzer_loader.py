"""The networks (MTCNN + the embedder's sessions) load once per worker in a background thread
started with the app, so the worker answers /healthz at once and /readyz turns 200 when they
are in."""

from __future__ import annotations

import logging
import threading

from api.config import Settings
from api.errors import ServiceUnavailable
from recognition import FaceAnalyzer

log = logging.getLogger(__name__)

ANALYZER_WAIT_SECONDS = 120.0


class AnalyzerLoader:
    """Loads the FaceAnalyzer once, off the request path; requests wait for it if they must."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._analyzer: FaceAnalyzer | None = None
        self._error: Exception | None = None
        self._loaded = threading.Event()
        # Not a daemon: a worker stopped mid-load must let ONNX Runtime finish building its
        # sessions, or the interpreter kills the thread inside C++ and the worker dies of SIGABRT.
        self._thread = threading.Thread(target=self._load, name="analyzer-loader", daemon=False)

    def start(self) -> AnalyzerLoader:
        self._thread.start()
        return self

    def _load(self) -> None:
        try:
            self._analyzer = FaceAnalyzer.from_bundle(
                self.settings.bundle_dir,
                backend=self.settings.backend,
                threads=self.settings.ort_threads,
                margin=self.settings.face_margin,
                min_face_size=self.settings.min_face_size,
                embedder=self.settings.embedder,
            )
            log.info(
                "networks loaded (bundle %s, embedder %s)",
                self._analyzer.bundle_version,
                self._analyzer.embedding_space,
            )
        except Exception as error:
            log.exception("cannot load the model bundle from %s", self.settings.bundle_dir)
            self._error = error
        finally:
            self._loaded.set()

    @property
    def state(self) -> str:
        if not self._loaded.is_set():
            return "loading"
        return "failed" if self._error is not None else "loaded"

    def loaded(self) -> FaceAnalyzer | None:
        """The analyzer if it is in, without waiting."""
        return self._analyzer if self._loaded.is_set() else None

    def get(self, timeout: float = ANALYZER_WAIT_SECONDS) -> FaceAnalyzer:
        if not self._loaded.wait(timeout):
            raise ServiceUnavailable("the networks are still loading", code="not_ready")
        if self._analyzer is None:
            raise ServiceUnavailable(
                f"the model bundle could not be loaded: {self._error}", code="not_ready"
            )
        return self._analyzer
