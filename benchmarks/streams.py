"""Issue 21: open /events streams and slow clients against one pod's processes.

One pod as the image runs it (scripts/cluster/pod.py): gunicorn with the shipped gunicorn.conf.py
(2 workers x 4 threads), facerec-events, nginx in front (facerec-proxy). Three parts:

  streams  recognition p50 (sequential get-results through nginx) with no stream open, with
           `--streams` open /events streams (every one must be answered: 200 + `retry:`), and
           with none again: all in one run.
  slow     recognitions per 10 s (`--concurrency` clients) with no attacker, then with
           `--slow` sockets sending a header line every 2 s (reconnecting when cut), through
           nginx; and the same attack straight at gunicorn (no proxy) for comparison.
  streams-gunicorn  the same herd straight at gunicorn's own /events (`make run`'s path): the
           first 2 per worker are answered, the rest refused at once (503, Retry-After).
  proxy    p50 of get-results and of /healthz straight to gunicorn and through nginx,
           interleaved one for one.

    .venv/bin/python benchmarks/streams.py [--part streams slow proxy] [--streams 1000]
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.cluster.loadgen import Load, SlowHeaders, percentile, post_image  # noqa: E402
from scripts.cluster.pod import LocalPod  # noqa: E402

PHOTO = sorted((ROOT.parent / "shared/faces/people/obama").iterdir())[0]
RECOGNIZE_KEY = "recognize-" + "k" * 24
REVIEW_KEYS = [f"review-{i}-" + "r" * 24 for i in range(4)]


def pod_env(root: Path) -> dict[str, str]:
    keys = ",".join([f"recognize:{RECOGNIZE_KEY}"] + [f"review:{k}" for k in REVIEW_KEYS])
    return {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(root / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{root}/facerec.db",
        "FACEREC_API_KEYS": keys,
        # Every client here is 127.0.0.1: nginx's per-address limit (256) would refuse the herd.
        "FACEREC_PROXY_CONNECTIONS_PER_CLIENT": "4000",
    }


def recognize(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    with open(PHOTO, "rb") as image:
        answer = session.post(
            f"{url}/face-recognition/get-results",
            files={"image": image},
            headers={"X-API-Key": RECOGNIZE_KEY},
            timeout=60,
        )
    answer.raise_for_status()
    return time.perf_counter() - started


def p50_ms(url: str, count: int) -> float:
    with requests.Session() as session:
        recognize(session, url)  # warm
        times = sorted(recognize(session, url) for _ in range(count))
    return round(percentile(times, 0.5) * 1000, 1)


class StreamHerd:
    """`count` raw /events connections, read by one selector thread: who was answered 200."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.selector = selectors.DefaultSelector()
        self.heads: dict[socket.socket, bytes] = {}
        self.closed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)

    def open(self) -> StreamHerd:
        for i in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            key = REVIEW_KEYS[i % len(REVIEW_KEYS)]
            sock.sendall(
                f"GET /events HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n\r\n".encode()
            )
            sock.setblocking(False)
            self.heads[sock] = b""
            self.selector.register(sock, selectors.EVENT_READ)
        self.thread.start()
        return self

    def _drain(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(0.2):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(sock)
                    self.closed += 1
                elif len(self.heads[sock]) < 512:
                    self.heads[sock] += data

    def answered(self) -> int:
        return sum(
            1
            for head in self.heads.values()
            if head.startswith(b"HTTP/1.1 200") and b"retry:" in head
        )

    def refused(self) -> int:
        return sum(1 for head in self.heads.values() if head.startswith(b"HTTP/1.1 503"))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.heads:
            sock.close()


def part_streams(pod: LocalPod, streams: int, count: int, port: int | None = None) -> dict:
    """Streams through nginx (facerec-events), or at `port` (gunicorn's own capped route)."""
    before = p50_ms(pod.url, count)
    idle_rss = _rss_mb(pod.processes["events"].pid)
    started = time.monotonic()
    herd = StreamHerd(port or pod.proxy_port, streams).open()
    try:
        answered_within = None
        while time.monotonic() - started < 60:
            if herd.answered() + herd.refused() == streams:
                answered_within = round(time.monotonic() - started, 1)
                break
            time.sleep(0.1)
        during = p50_ms(pod.url, count)
        events_rss = _rss_mb(pod.processes["events"].pid)
        result = {
            "streams": streams,
            "answered": herd.answered(),
            "refused_503": herd.refused(),
            "all_answered_within_s": answered_within,
            "closed_early": herd.closed,
            "events_rss_mb_idle": idle_rss,
            "events_rss_mb_open": events_rss,
        }
    finally:
        herd.close()
    time.sleep(1)
    after = p50_ms(pod.url, count)
    ratio = round(during / min(before, after), 2)
    return {**result, "p50_ms_none": before, "p50_ms_open": during, "p50_ms_none_after": after,
            "ratio": ratio}  # fmt: skip


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def per_10s(url: str, concurrency: int) -> dict:
    send = post_image(f"{url}/face-recognition/get-results", PHOTO.read_bytes())

    def keyed(session, sequence):
        session.headers["X-API-Key"] = RECOGNIZE_KEY
        return send(session, sequence)

    load = Load(keyed, concurrency=concurrency, duration=10)
    load.run()
    return {"ok": len(load.outcomes) - len(load.failures()), "failed": len(load.failures())}


def part_slow(pod: LocalPod, slow: int, concurrency: int, rounds: int) -> dict:
    """`rounds` pairs of 10 s windows, without and with the attack, one after the other: the
    machine is shared, so neighbours' load falls on both sides alike."""
    none, attacked, cut = [], [], 0
    for _ in range(rounds):
        none.append(per_10s(pod.url, concurrency)["ok"])
        with SlowHeaders("127.0.0.1", pod.proxy_port, slow) as attack:
            window = per_10s(pod.url, concurrency)
        attacked.append(window["ok"])
        cut += attack.cut
        if window["failed"]:
            raise SystemExit(f"requests failed under the attack: {window}")
    with SlowHeaders("127.0.0.1", pod.api_port, min(slow, 10)):
        straight = per_10s(pod.api_url, concurrency)
    return {
        "sockets": slow,
        "per_10s_none": none,
        "per_10s_attacked_through_nginx": attacked,
        "sockets_cut_by_nginx": cut,
        "ratio": round(sum(none) / max(sum(attacked), 1), 2),
        "straight_to_gunicorn_10_sockets": straight,
    }


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _refused_upload(session: requests.Session, url: str) -> None:
    """The photo's 280 KB posted with a wrong key: the upload's path without the recognition."""
    with open(PHOTO, "rb") as image:
        answer = session.post(
            f"{url}/face-recognition/get-results",
            files={"image": image},
            headers={"X-API-Key": "x" * 24},
            timeout=60,
        )
    assert answer.status_code == 401, answer.status_code


def part_proxy(pod: LocalPod, count: int) -> dict:
    """Each call straight to gunicorn and through nginx, one right after the other: the p50s,
    and the median of the pairs' differences (drift from neighbours' load cancels out)."""
    calls = {
        "recognition": lambda s, url: recognize(s, url),
        "upload_401": _refused_upload,
        "healthz": lambda s, url: s.get(f"{url}/healthz", timeout=10).raise_for_status(),
    }
    result = {}
    with requests.Session() as session:
        for name, call in calls.items():
            pairs = [
                (
                    _timed(lambda c=call: c(session, pod.api_url)),
                    _timed(lambda c=call: c(session, pod.url)),
                )
                for _ in range(count)
            ]
            direct = sorted(d for d, _ in pairs)
            proxied = sorted(n for _, n in pairs)
            cost = sorted(n - d for d, n in pairs)
            result[name] = {
                "p50_ms_direct": round(percentile(direct, 0.5) * 1000, 2),
                "p50_ms_nginx": round(percentile(proxied, 0.5) * 1000, 2),
                "median_pair_cost_ms": round(percentile(cost, 0.5) * 1000, 2),
            }
    return result


def main() -> None:
    global PHOTO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", default=["streams", "slow", "proxy"])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--count", type=int, default=30, help="recognitions per p50")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="slow: pairs of 10 s windows")
    parser.add_argument(
        "--photo", type=Path, default=PHOTO, help="the image recognised (default: a 280 KB photo)"
    )
    args = parser.parse_args()
    PHOTO = args.photo
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalPod(Path(folder), pod_env(Path(folder))) as pod,
    ):
        parts = {
            "streams": lambda: part_streams(pod, args.streams, args.count),
            # `make run`'s path: gunicorn's own /events, 2 streams per worker, the rest 503.
            "streams-gunicorn": lambda: part_streams(pod, args.streams, args.count, pod.api_port),
            "slow": lambda: part_slow(pod, args.slow, args.concurrency, args.rounds),
            "proxy": lambda: part_proxy(pod, args.count),
        }
        for name in args.part:
            print(json.dumps({"part": name, **parts[name]()}), flush=True)


if __name__ == "__main__":
    main()
