"""ONNX Runtime sessions configured for a small CPU-bound server process."""

from __future__ import annotations

import onnxruntime as ort


def create_session(model: bytes, threads: int = 1) -> ort.InferenceSession:
    """A CPU session; `threads` intra-op threads (0 lets ONNX Runtime pick one per core).

    gunicorn runs one worker per core, so one thread per session avoids oversubscription.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
