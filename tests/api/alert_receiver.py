"""A real HTTP receiver on 127.0.0.1 for alert webhooks: what arrived, when, signed how."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from workers.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature


class AlertReceiver:
    """`with AlertReceiver(secret) as hooks:` POST alerts to `hooks.url`; `hooks.alerts` holds
    (monotonic arrival time, body) of every correctly signed POST; `hooks.forged` counts others."""

    def __init__(self, secret: str):
        self.secret = secret
        self.alerts: list[tuple[float, dict]] = []
        self.forged = 0
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.record(dict(self.headers), body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def record(self, headers: dict, body: bytes) -> None:
        arrived = time.monotonic()
        expected = signature(self.secret, headers.get(TIMESTAMP_HEADER, ""), body)
        with self._arrived:
            if headers.get(SIGNATURE_HEADER) == expected:
                self.alerts.append((arrived, json.loads(body)))
            else:
                self.forged += 1
            self._arrived.notify_all()

    def wait_for(self, count: int, seconds: float = 10.0) -> list[tuple[float, dict]]:
        """The alerts once `count` have arrived (or after `seconds`, however many did)."""
        deadline = time.monotonic() + seconds
        with self._arrived:
            while len(self.alerts) < count and (left := deadline - time.monotonic()) > 0:
                self._arrived.wait(left)
            return list(self.alerts)

    def __enter__(self) -> AlertReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
