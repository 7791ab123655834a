"""DNS rebinding: an alert destination whose name answers a public address to the check and a
loopback one a moment later must reach nothing (workers/alert_webhooks.py, PinnedAdapter).

A name's answers cannot be changed on this machine, so the resolver is the one thing replaced
here: it answers a public address to the rule's check and to the delivery's own check, and
127.0.0.1 from then on, as a rebinding DNS server would. The listener on 127.0.0.1 is real and counts the connections that reach it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from workers import alert_webhooks
from workers.alert_webhooks import PinnedAdapter, RefusedAddress, _CheckedSender

PUBLIC = "93.184.216.34"  # any global unicast address: nothing ever connects to it here


class Listener:
    """A TCP socket on 127.0.0.1 that accepts and counts connections."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    started = Listener()
    yield started
    started.close()


@pytest.fixture
def rebinding(monkeypatch, listener):
    """`rebind.example` answers PUBLIC twice, then 127.0.0.1 (the calls are counted)."""
    real, calls = socket.getaddrinfo, []

    def resolve(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        address = PUBLIC if len(calls) <= 2 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return calls


def test_a_name_that_turns_private_after_the_check_is_never_connected_to(rebinding, listener):
    url = f"https://rebind.example:{listener.port}/hook"
    assert alert_webhooks.check_destination(url) == url  # the rule is accepted: PUBLIC
    sender = _CheckedSender(url, "secret", ())
    sender.attempts = 1
    try:
        sender.send({"kind": "alert"})  # its check sees PUBLIC; its connection would see loopback
        deadline = time.monotonic() + 10
        while sender.failed + sender.delivered + sender.refused == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        sender.close()
    assert sender.delivered == 0 and sender.failed == 1
    assert listener.connections == 0
    assert len(rebinding) == 3  # the rule's check, the delivery's check, the pinned connection


def test_the_adapter_refuses_before_connecting(monkeypatch, listener):
    def loopback(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", loopback)
    session = alert_webhooks.requests.Session()
    session.mount("https://", PinnedAdapter(()))
    with pytest.raises(RefusedAddress, match="loopback"):
        session.post(f"https://anything.example:{listener.port}/", data=b"{}", timeout=2)
    assert listener.connections == 0
