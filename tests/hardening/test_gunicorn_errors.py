"""Issue 11, item 11: what gunicorn answers itself, before the app sees a request (a request line
over limit_request_line, too many or too large headers, a malformed request line), is JSON in
the API's `{"error", "message"}` shape, not gunicorn's HTML page."""

from __future__ import annotations

import json
import socket

import pytest
import requests


def raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (requests would refuse most of these); (status, headers, body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


BAD_REQUESTS = {
    "uri-too-long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    "too-many-headers": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        + b"\r\n",
        431,
        "header_fields_too_large",
    ),
    "header-too-large": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
        431,
        "header_fields_too_large",
    ),
    "malformed-request-line": (b"HELLO\r\n\r\n", 400, "bad_request"),
    "bad-http-version": (b"GET / HTTP/9.x\r\nHost: x\r\n\r\n", 400, "bad_request"),
}


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"), BAD_REQUESTS.values(), ids=BAD_REQUESTS
)
def test_gunicorn_errors_are_json(gunicorn, request_bytes, status, code):
    got, headers, body = raw_request(gunicorn.url, request_bytes)
    assert got == status, body[:300]
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert set(error) == {"error", "message"} and error["error"] == code and error["message"]


def test_the_worker_keeps_serving_after_them(gunicorn):
    for request_bytes, _status, _code in BAD_REQUESTS.values():
        raw_request(gunicorn.url, request_bytes)
    assert requests.get(f"{gunicorn.url}/healthz", timeout=5).json() == {"status": "ok"}
