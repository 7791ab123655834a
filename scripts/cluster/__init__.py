"""A real facerec cluster on one machine: MariaDB, N gunicorn replicas and nginx in front.

`make cluster` / `make cluster-down` drive it from the shell (`python -m scripts.cluster`);
tests and benchmarks build a `Cluster` in-process. Every process is started in its own session
and stopped by its PID (process group), so nothing that this package did not start is touched.
"""

from .cluster import Cluster, ClusterConfig

__all__ = ["Cluster", "ClusterConfig"]
