"""get-results latency through a real gunicorn at 10 and at 1,000 enrolled people, one run.

Every gallery holds the real people of tests/data/people (each of their photos embedded with
the service's default embedder) and, up to the size asked, people of LFW with up to 3 photos
each (benchmarks/lfw.py's cached embeddings of ../shared/faces/lfw; FACEREC_LFW overrides it).
It is fitted and published straight into the
server's model store, as a training job would (same threshold_for, same embedding space), not
through HTTP enrolment, which would take hours at 1,000 people. Each person gets a bare record
(POST /dataset/<id>): get-results looks up the people it names, and would treat a name missing
from the database as deleted. The requests are benchmarks/api.py's: the edge crops of the real
people, one at a time, after a warm-up, every answer checked to come from the gallery timed.

    .venv/bin/python benchmarks/gallery_http.py [--people 10 1000] [--requests 150]
Target: p50 at 1,000 people within 1.2x of p50 at 10. The server inherits this process's
environment: OPENBLAS_NUM_THREADS=1 shows what BLAS threads in the workers cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from benchmarks import api as http  # noqa: E402
from benchmarks import lfw  # noqa: E402
from recognition import FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from storage.model_store import ModelStore  # noqa: E402
from tests.api.servers import Gunicorn  # noqa: E402

FALSE_ACCEPT_RATE = 0.01
LFW_PHOTOS_PER_PERSON = 3


def real_people(analyzer: FaceAnalyzer) -> tuple[np.ndarray, list[str]]:
    """The subject's embedding of every photo of tests/data/people, labelled by folder."""
    embeddings, labels = [], []
    for path in sorted(http.PEOPLE.glob("*/*")):
        with open(path, "rb") as handle:
            _, chosen, embedding = analyzer.subject(load_image(handle.read()))
        if chosen is not None:
            embeddings.append(embedding)
            labels.append(path.parent.name)
    return np.array(embeddings, np.float32), labels


def lfw_people(embedder: str) -> tuple[np.ndarray, list[str]]:
    """Up to 3 embeddings of each enrolled LFW person, people in a fixed shuffled order."""
    data = lfw.load(embedder)
    usable = ~data.stranger & data.accepted
    people = np.random.default_rng(0).permutation(np.unique(data.people[usable]))
    rows = []
    for person in people:
        rows.extend(np.flatnonzero(usable & (data.people == person))[:LFW_PHOTOS_PER_PERSON])
    return data.embeddings[rows], [f"lfw.{person}" for person in data.people[rows]]


def gallery(
    size: int, real: tuple[np.ndarray, list[str]], extra: tuple[np.ndarray, list[str]]
) -> tuple[np.ndarray, list[str]]:
    """The real people plus the first LFW people, `size` people in all."""
    embeddings, labels = real
    wanted = size - len(set(labels))
    extra_people = list(dict.fromkeys(extra[1]))[:wanted]
    if len(extra_people) < wanted:
        raise ValueError(f"only {len(set(labels)) + len(extra_people)} people available")
    keep = np.isin(extra[1], extra_people)
    return (
        np.vstack([embeddings, extra[0][keep]]),
        labels + [label for label, kept in zip(extra[1], keep, strict=True) if kept],
    )


def enrol_records(url: str, people: set[str]) -> None:
    """A person record for each id (no images), as POST /dataset/<id> makes."""
    with requests.Session() as session:
        for person in sorted(people):
            session.post(f"{url}/dataset/{person}", headers=http.ADMIN).raise_for_status()


def wait_for_version(url: str, version: str, poll_seconds: float, timeout: float = 60.0) -> None:
    """Until GET /model serves `version`, then one more poll period for every other worker."""
    deadline = time.monotonic() + timeout
    while requests.get(f"{url}/model", headers=http.ADMIN).json()["model_version"] != version:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server never served model {version}")
        time.sleep(0.2)
    time.sleep(2 * poll_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-side", type=int, default=300, help="edge crop size limit")
    args = parser.parse_args()

    settings = Settings.from_env()
    analyzer = FaceAnalyzer.from_bundle(http.BUNDLE, min_face_size=settings.min_face_size)
    embedder = analyzer.embedder.name
    real = real_people(analyzer)
    extra = lfw_people(embedder)
    crops = http.edge_crops(args.max_side)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = http.server_env(tmp)
        store = ModelStore(Path(env["FACEREC_MODEL_DIR"]))
        enrolled: set[str] = set()
        with Gunicorn(env, Path(tmp) / "gunicorn.log", workers=args.workers) as server:
            for size in args.people:
                embeddings, labels = gallery(size, real, extra)
                enrol_records(server.url, set(labels) - enrolled)
                enrolled |= set(labels)
                started = time.perf_counter()
                classifier = FaceClassifier.fit(
                    embeddings,
                    labels,
                    threshold=threshold_for(embedder, size, FALSE_ACCEPT_RATE),
                    embedding_space=analyzer.embedding_space,
                )
                fit_s = time.perf_counter() - started
                version = store.publish(classifier)
                wait_for_version(server.url, version, settings.model_poll_seconds)
                latencies = http.sequential(server.url, crops, args.requests, version)
                rows.append((size, len(labels), fit_s, *np.percentile(latencies, [50, 99])))

    print(
        f"gunicorn workers={args.workers}, embedder {embedder}, {len(crops)} edge crops of "
        f"<= {args.max_side} px, {args.requests} sequential requests per gallery"
    )
    print("| people | enrolled faces | fit s | p50 ms | p99 ms | p50 / p50 at first size |")
    print("|---|---|---|---|---|---|")
    first_p50 = rows[0][3]
    for size, faces, fit_s, p50, p99 in rows:
        print(
            f"| {size:,} | {faces:,} | {fit_s:.1f} | {p50:.1f} | {p99:.1f} "
            f"| {p50 / first_p50:.2f}x |"
        )


if __name__ == "__main__":
    main()
