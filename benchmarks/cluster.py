"""Recognitions per second through nginx with 1, 2 and 3 replicas, and the model swap time.

For each replica count a fresh cluster (private MariaDB, N gunicorn replicas with one worker
each, nginx) is started, the people of tests/data/people are enrolled (one image each held
out) and a model trained. Then a closed loop of `concurrency` clients posts one face crop to
get-results through nginx for `duration` seconds: recognitions/s, p50/p99 latency and the CPU
each replica used (100% = one core). Last, `--swaps` trainings are run and the time from the
pointer switch until each replica answers with the new model is measured.

    .venv/bin/python benchmarks/cluster.py [--replicas 1 2 3] [--duration 20] [--swaps 3]

The machine has 2 cores: past 2 replicas the numbers show sharing, not scaling.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recognition import FaceAnalyzer  # noqa: E402
from scripts.cluster import Cluster, ClusterConfig  # noqa: E402
from scripts.cluster.loadgen import Load, percentile, post_image  # noqa: E402
from scripts.cluster.processes import cpu_seconds  # noqa: E402
from scripts.cluster.steps import (  # noqa: E402
    GET_RESULTS,
    PointerWatch,
    enrol,
    face_crop,
    train,
    upload,
)

PEOPLE = ROOT / "tests/data/people"


def people_images() -> dict[str, list[Path]]:
    return {
        d.name: sorted(p for p in d.iterdir() if p.is_file())
        for d in sorted(PEOPLE.iterdir())
        if d.is_dir()
    }


def replica_cpu(replica) -> float:
    return sum(cpu_seconds(pid) for pid in [replica.pid, *replica.worker_pids()])


def measure_throughput(cluster, crop: bytes, concurrency: int, duration: float) -> dict:
    send = post_image(cluster.url + GET_RESULTS, crop)
    Load(send, concurrency, duration=2.0).run()  # warm-up
    cpu_before = {r.name: replica_cpu(r) for r in cluster.replicas}
    load = Load(send, concurrency, duration=duration)
    load.run()
    elapsed = load.finished_at - load.started_at
    latencies = load.latencies()
    return {
        "requests": len(load.outcomes),
        "failed": len(load.failures()),
        "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "cpu_percent": {
            r.name: 100 * (replica_cpu(r) - cpu_before[r.name]) / elapsed for r in cluster.replicas
        },
    }


def measure_swap(cluster, probe: bytes) -> dict[str, float]:
    """Seconds from the CURRENT switch until each replica answers with the new model."""
    with PointerWatch(cluster.model_dir / "CURRENT") as pointer:
        version = train(cluster.url, "optimized-train")["model_version"]
        switched_at = pointer.switched_to(version)
        delays: dict[str, float] = {}
        while len(delays) < len(cluster.replicas) and time.monotonic() - switched_at < 30:
            for replica in cluster.replicas:
                if replica.name in delays:
                    continue
                body = requests.post(
                    replica.url + GET_RESULTS, files=upload(probe), timeout=30
                ).json()
                if body.get("model_version") == version:
                    delays[replica.name] = time.monotonic() - switched_at
            time.sleep(0.02)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, help="clients (default: replicas + 1)")
    parser.add_argument("--swaps", type=int, default=3)
    args = parser.parse_args()

    analyzer = FaceAnalyzer.from_bundle(ROOT / "models")
    images = people_images()
    crop = face_crop(analyzer, images["obama"][-1])
    rows = []
    for count in args.replicas:
        with (
            tempfile.TemporaryDirectory(prefix="facerec-bench-") as root,
            Cluster(ClusterConfig(root=Path(root), replicas=count)) as cluster,
        ):
            for person, paths in images.items():
                if len(paths) > 1:
                    enrol(cluster.url, person, paths[:-1])
            train(cluster.url)
            concurrency = args.concurrency or count + 1
            result = measure_throughput(cluster, crop, concurrency, args.duration)
            swaps = [measure_swap(cluster, crop) for _ in range(args.swaps)]
        rows.append((count, concurrency, result, swaps))
        cpu = ", ".join(f"{v:.0f}%" for v in result["cpu_percent"].values())
        worst = max((max(s.values()) for s in swaps if s), default=float("nan"))
        print(
            f"replicas={count} clients={concurrency} recognitions/s={result['per_second']:.1f} "
            f"p50={result['p50_ms']:.0f} ms p99={result['p99_ms']:.0f} ms "
            f"failed={result['failed']}/{result['requests']} cpu per replica=[{cpu}] "
            f"swap on every replica <= {worst:.2f} s",
            flush=True,
        )

    print(
        "\n| replicas | clients | recognitions/s | p50 ms | p99 ms | failed | CPU per replica | swap (all replicas, worst of runs) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count, concurrency, result, swaps in rows:
        cpu = " / ".join(f"{v:.0f}%" for v in result["cpu_percent"].values())
        worst = max((max(s.values()) for s in swaps if s), default=float("nan"))
        print(
            f"| {count} | {concurrency} | {result['per_second']:.1f} | {result['p50_ms']:.0f} | "
            f"{result['p99_ms']:.0f} | {result['failed']}/{result['requests']} | {cpu} | {worst:.2f} s |"
        )


if __name__ == "__main__":
    main()
