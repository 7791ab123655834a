"""Alert webhooks: each alert POSTed to its rule's destination, signed as every webhook is
(workers/webhooks.py), never in a request's way.

A destination is a URL an admin typed, fetched by the server: it could point the server at
itself, its cloud's metadata service or the private network (SSRF). So a destination must be
https to a public address, unless its host is on FACEREC_ALERT_ALLOWED_HOSTS; loopback,
link-local (169.254.169.254 included), private, shared and reserved addresses are refused. The
check runs when a rule is created and again at each delivery, since a name's addresses can
change after it was accepted; and the delivery connects to the very address it checked
(`PinnedAdapter`), so a name that answers a public address to the check and a private one to
the connection a moment later (DNS rebinding) reaches nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from workers.webhooks import WebhookSender

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
MAX_DESTINATIONS = 64  # senders (one thread each) kept at once; rules share them by URL


class RefusedDestination(ValueError):
    """A destination the server must not POST to; the message says why."""


def _allowed(parts, allowed_hosts: tuple[str, ...]) -> bool:
    host = (parts.hostname or "").lower()
    return host in allowed_hosts or f"{host}:{parts.port}" in allowed_hosts


def _addresses(host: str, port: int) -> list:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RefusedDestination(f"the destination's host {host!r} does not resolve") from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        found.append(mapped or address)
    return found


def check_destination(url: str, allowed_hosts: tuple[str, ...] = ()) -> str:
    """`url` if alerts may be POSTed there, else RefusedDestination saying why."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH:
        raise RefusedDestination(
            f"destination must be a URL of at most {MAX_URL_LENGTH} characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedDestination("destination is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedDestination("destination must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedDestination("destination must not carry credentials; alerts are signed")
    if _allowed(parts, allowed_hosts):
        return url
    if parts.scheme != "https":
        raise RefusedDestination("destination must be https (or on FACEREC_ALERT_ALLOWED_HOSTS)")
    _public_addresses(parts.hostname, port)
    return url


def _public_addresses(host: str, port: int) -> list:
    """The host's addresses, all public; RefusedDestination if any is not."""
    addresses = _addresses(host, port)
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise RefusedDestination(
                f"destination {host!r} resolves to {address}, a loopback, link-local, "
                "private or reserved address (allow it with FACEREC_ALERT_ALLOWED_HOSTS)"
            )
    return addresses


class RefusedAddress(requests.ConnectionError):
    """At delivery, the destination's name resolved to an address it must not reach."""


class PinnedAdapter(HTTPAdapter):
    """Connects to the address this delivery's own check approved, never to what a second
    lookup answers: the URL's host becomes that address, while the Host header, TLS SNI and the
    certificate check keep the name. Hosts on the allow-list are connected to as they are."""

    def __init__(self, allowed_hosts: tuple[str, ...]):
        self.allowed_hosts = allowed_hosts
        super().__init__()

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        if not _allowed(parts, self.allowed_hosts):
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                address = _public_addresses(parts.hostname, port)[0]
            except RefusedDestination as error:
                raise RefusedAddress(str(error), request=request) from None
            literal = f"[{address}]" if address.version == 6 else str(address)
            request.headers["Host"] = parts.netloc
            request.url = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
            request.pinned_name = parts.hostname
        return super().send(request, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = getattr(request, "pinned_name", None)
        if name and host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name  # SNI and the certificate: the name's
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


class _CheckedSender(WebhookSender):
    """A WebhookSender that checks its destination again before each delivery."""

    def __init__(self, url: str, secret: str, allowed_hosts: tuple[str, ...]):
        self.allowed_hosts = allowed_hosts
        self.refused = 0
        super().__init__(url, secret)
        pinned = PinnedAdapter(allowed_hosts)
        self._session.mount("http://", pinned)
        self._session.mount("https://", pinned)

    def _deliver(self, event: dict) -> None:
        try:
            check_destination(self.url, self.allowed_hosts)
        except RefusedDestination as error:
            self.refused += 1
            log.warning("alert not sent to %s: %s", self.url, error)
            return
        super()._deliver(event)


class AlertSender:
    """One sender per destination (a slow receiver delays only its own alerts)."""

    def __init__(self, secret: str | None, allowed_hosts: tuple[str, ...] = ()):
        self.secret, self.allowed_hosts = secret, allowed_hosts
        self._senders: dict[str, _CheckedSender] = {}
        self._lock = threading.Lock()

    def send(self, destination: str, body: dict) -> None:
        """Queue one alert for `destination`; returns at once."""
        if not self.secret:
            log.warning("alert not sent to %s: FACEREC_WEBHOOK_SECRET is not set", destination)
            return
        with self._lock:
            sender = self._senders.get(destination)
            if sender is None:
                if len(self._senders) >= MAX_DESTINATIONS:
                    oldest = next(iter(self._senders))
                    self._senders.pop(oldest).close(timeout=0)
                sender = _CheckedSender(destination, self.secret, self.allowed_hosts)
                self._senders[destination] = sender
        sender.send(body)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            senders, self._senders = list(self._senders.values()), {}
        for sender in senders:
            sender.close(timeout)
