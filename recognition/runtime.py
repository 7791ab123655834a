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
    # Idle pool threads spin by default; with several sessions in one process (P-, R-, O-Net,
    # FaceNet) each spinning pool steals the cores the running one needs (measured: 2 threads
    # were 2x slower than 1 with spinning on).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # ONNX Runtime's arena keeps the largest buffers it ever needed: one 4096 px upload (P-Net's
    # first pyramid level) left a worker 2.7 GB large for good. Without it memory is returned
    # after each run (tests/hardening/test_hostile_images.py).
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
