"""How fast the console's Live page shows 200 tracks, in headless Chromium against a real
gunicorn (docs/console.md).

    .venv/bin/python benchmarks/console.py [--sightings 200] [--loads 5]

Reads the LFW calibration set in ../shared/faces/lfw (FACEREC_LFW overrides it).

The crops are recorded the way the edge records them (store-results, real LFW faces; without a
track id each is a track of its own, one card). Each
load starts from a fresh page with the key already in session storage (the previous page's
event stream given time to end on the server), and reports the
browser's own paint timing (first-contentful-paint), when the 200 cards are in the page, and
when the faces in view have arrived.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.routes.events import HEARTBEAT_SECONDS  # noqa: E402
from benchmarks.lfw import LFW  # noqa: E402
from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY  # noqa: E402
from tests.api.servers import Gunicorn  # noqa: E402
from tests.console.conftest import new_browser, server_env  # noqa: E402

MEASURE = """
const done = arguments[arguments.length - 1];
const wanted = arguments[0];
function check() {
  const cards = document.querySelectorAll('#live-grid .track').length;
  if (cards < wanted) return setTimeout(check, 5);
  const rendered = performance.now();
  const inView = [...document.querySelectorAll('#live-grid img.face')]
    .filter((img) => img.getBoundingClientRect().top < innerHeight);
  const facesIn = () => inView.every((img) =>
    img.classList.contains('missing') || (img.complete && img.naturalWidth > 0));
  (function faces() {
    if (!facesIn()) return setTimeout(faces, 5);
    const paint = Object.fromEntries(performance.getEntriesByType('paint')
      .map((entry) => [entry.name, entry.startTime]));
    done({paint, rendered, faces: performance.now(), inView: inView.length});
  })();
}
check();
"""


def record(server: Gunicorn, count: int) -> None:
    photos = sorted((LFW / "enrolled").glob("*/*.jpg"))

    def post(index_photo):
        index, photo = index_photo
        answer = requests.post(
            f"{server.url}/face-recognition/store-results",
            files={"image": photo.read_bytes()},
            data={"camera_id": f"cam-{index % 4}", "location_id": "hall"},
            headers={"X-API-Key": RECOGNIZE_KEY},
            timeout=60,
        )
        answer.raise_for_status()
        return len(answer.json()["faces"])

    recorded, remaining = 0, iter(enumerate(photos))
    with ThreadPoolExecutor(2) as pool:
        while recorded < count:  # a photo may hold no face the detector takes: post more
            recorded += sum(pool.map(post, itertools.islice(remaining, count - recorded)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sightings", type=int, default=200)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Gunicorn(server_env(Path(tmp)), Path(tmp) / "gunicorn.log") as server,
    ):
        started = time.monotonic()
        record(server, args.sightings)
        total = requests.get(
            f"{server.url}/recognitions?per_page=1", headers={"X-API-Key": ADMIN_KEY}, timeout=10
        ).json()["total"]
        print(f"{total} sightings recorded in {time.monotonic() - started:.0f} s")
        browser = new_browser()
        try:
            browser.set_script_timeout(60)
            results = []
            for _ in range(args.loads + 1):  # the first load warms the worker and the disk
                # The last page's /events stream holds a server thread until a write fails: the
                # second heartbeat after it left (the first still lands in the socket buffer).
                # Wait it out, or the 4 threads of the one worker run out after a few loads.
                browser.get("about:blank")
                time.sleep(2 * HEARTBEAT_SECONDS + 1)
                browser.get(server.url + "/console/config")
                browser.execute_script(
                    "sessionStorage.setItem('facerec.apiKey', arguments[0])", ADMIN_KEY
                )
                browser.get(server.url + "/#live")
                results.append(browser.execute_async_script(MEASURE, min(total, 200)))
            results = results[1:]
        finally:
            browser.quit()
    fcp = [r["paint"]["first-contentful-paint"] for r in results]
    rendered = [r["rendered"] for r in results]
    faces = [r["faces"] for r in results]
    print(f"loads: {len(results)}, faces in view: {results[0]['inView']}")
    for name, values in (
        ("first-contentful-paint", fcp),
        ("200 cards rendered", rendered),
        ("faces in view loaded", faces),
    ):
        print(f"{name:>24}: median {statistics.median(values):6.0f} ms, max {max(values):6.0f} ms")


if __name__ == "__main__":
    main()
