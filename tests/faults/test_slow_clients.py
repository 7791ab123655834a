"""Two clients sending a header line per second must not freeze a replica.

Before: gunicorn's 2 sync workers each sat on one slow socket, so nothing else was answered
for as long as the clients kept trickling (20 s in the probe).
"""

from __future__ import annotations

import socket
import threading
import time

import requests

from .conftest import PHOTO, RECOGNIZE, serve

TRICKLE_SECONDS = 8


def trickle(port: int, stop: threading.Event) -> None:
    """A request whose headers arrive one line a second, never finished."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        line = 0
        while not stop.wait(1.0):
            line += 1
            try:
                sock.sendall(f"X-Slow-{line}: {'a' * 20}\r\n".encode())
            except OSError:
                return  # the server gave up on us: fine


def test_two_slow_clients_do_not_stop_recognitions(tmp_path):
    with serve(tmp_path, {}, workers=2) as api:
        port = int(api.url.rsplit(":", 1)[1])
        stop = threading.Event()
        slow = [threading.Thread(target=trickle, args=(port, stop)) for _ in range(2)]
        for client in slow:
            client.start()
        time.sleep(1.0)  # both are in, each holding whatever reads its request
        latencies = []
        try:
            started = time.monotonic()
            while time.monotonic() - started < TRICKLE_SECONDS - 2:
                begun = time.monotonic()
                with open(PHOTO, "rb") as image:
                    response = requests.post(
                        api.url + "/face-recognition/get-results",
                        files={"image": image},
                        headers=RECOGNIZE,
                        timeout=5,
                    )
                latencies.append(time.monotonic() - begun)
                assert response.status_code == 200, response.text
                assert response.json()["faces"]
        finally:
            stop.set()
            for client in slow:
                client.join()
        assert len(latencies) >= 5 and max(latencies) < 2, latencies
        print(
            f"\nslow clients: {len(latencies)} recognitions while 2 sockets trickled headers, "
            f"max {max(latencies):.2f} s"
        )
