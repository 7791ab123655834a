"""A tiny real HTTP server that stands in for the cloud API in the edge tests.

It speaks the API's recognition paths and POST /tracks/<camera>/<track>/end, records what it received (GET /stats), and can be told
to fail: `--fail-first N` answers 500 to the first N uploads, `--status CODE` to all of them.
`--label-by-size` names each face after its upload's size ("WxH"), so a client can check that
every answer came back to the crop it was asked about; `--delay` slows every answer.
Run: python tests/edge/stub_api.py --port 8123
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


class State:
    def __init__(self, fail_first: int, status: int, delay: float, label_by_size: bool):
        self.lock = threading.Lock()
        self.fail_first, self.status, self.delay = fail_first, status, delay
        self.label_by_size = label_by_size
        self.stats = {
            "requests": 0,
            "uploads": 0,
            "image_bytes": 0,
            "fields": [],
            "image_shapes": [],
            "peers": [],
            "ends": [],  # [track id, uploads received before its end]
        }


def handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def remember_peer(self) -> None:
            """Which client port asked: one port for many requests proves keep-alive."""
            with state.lock:
                if self.client_address[1] not in state.stats["peers"]:
                    state.stats["peers"].append(self.client_address[1])

        def do_GET(self):
            self.remember_peer()
            with state.lock:
                self.reply(200, state.stats)

        def do_POST(self):
            self.remember_peer()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.startswith("/tracks/") and self.path.endswith("/end"):
                return self.end_track()
            with state.lock:
                state.stats["requests"] += 1
                failing = state.fail_first > 0
                state.fail_first -= failing
            time.sleep(state.delay)
            if failing:
                return self.reply(500, {"error": "internal", "message": "told to fail"})
            if state.status != 200:
                return self.reply(state.status, {"error": "refused", "message": "told to refuse"})
            fields = multipart_fields(self.headers["Content-Type"], body)
            image = cv2.imdecode(np.frombuffer(fields["image"], np.uint8), cv2.IMREAD_COLOR)
            height, width = image.shape[:2]
            with state.lock:
                state.stats["uploads"] += 1
                state.stats["image_bytes"] += len(fields["image"])
                state.stats["image_shapes"].append([height, width])
                state.stats["fields"].append(
                    {k: v.decode() for k, v in fields.items() if k != "image"}
                )
            label = f"{width}x{height}" if state.label_by_size else "someone"
            face = {
                "top_prediction": {"label": label, "score": 0.9, "threshold": 0.7},
                "bounding_box": {"left": 0, "top": 0, "right": width, "bottom": height},
                "all_predictions": [{"label": label, "score": 0.9}],
            }
            self.reply(200, {"faces": [face], "model_version": "stub"})

        def end_track(self):
            """POST /tracks/<camera>/<track>/end: remembered with the uploads that came first."""
            track_id = self.path.split("/")[3]
            if state.status != 200:
                return self.reply(state.status, {"error": "refused", "message": "told to refuse"})
            with state.lock:
                state.stats["ends"].append([track_id, state.stats["uploads"]])
            self.reply(200, {"id": track_id, "ended": True})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--label-by-size", action="store_true")
    args = parser.parse_args()
    state = State(args.fail_first, args.status, args.delay, args.label_by_size)
    ThreadingHTTPServer(("127.0.0.1", args.port), handler(state)).serve_forever()


if __name__ == "__main__":
    main()
