"""Every setting of the cloud service, read from environment variables in this one place."""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path

from recognition import networks
from storage.api_keys import API_KEY_SCOPES

# 24 characters of `openssl rand -hex` are 96 bits: beyond any online guessing.
MIN_API_KEY_LENGTH = 24
MIN_KEY_SECRET_LENGTH = 32
# A key's name, as the audit trail shows it (FACEREC_API_KEYS `scope:name:key`).
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
KEY_NAME_RULE = (
    "1-64 characters: letters, digits, '_', '.', '@', '-', starting with a letter or digit"
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_api_keys(name: str) -> tuple[tuple[str, ...], ...]:
    """`scope:name:key` or the older `scope:key`, comma-separated -> ((scope, key[, name]), ...):
    the whole set of keys the service accepts. An entry without a name gets one derived from
    the key (api/keys.py `key_name`); a key holding `:` needs the named form.

    A malformed entry stops the start-up, as do a key shorter than MIN_API_KEY_LENGTH, a key
    listed twice and a name used twice (Settings checks them). Messages never show a key."""
    entries = []
    for entry in os.environ.get(name, "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        scope, separator, rest = entry.partition(":")
        key_name, named, key = rest.partition(":") if rest.count(":") else ("", "", rest)
        if not separator or scope not in API_KEY_SCOPES or not key:
            raise ValueError(
                f"{name}: {scope or '<empty>'!r} is not `scope:name:key` or `scope:key` with a "
                f"scope in {API_KEY_SCOPES}"
            )
        if named and not KEY_NAME.fullmatch(key_name):
            raise ValueError(f"{name}: a {scope!r} key's name is not {KEY_NAME_RULE}")
        entries.append((scope, key, key_name) if named else (scope, key))
    return tuple(entries)


def _check_api_keys(pairs: tuple[tuple[str, ...], ...], name: str = "FACEREC_API_KEYS") -> None:
    """Refuse guessable keys, keys whose scope would be ambiguous and names an audit could not
    tell apart."""
    seen: dict[str, str] = {}
    names: set[str] = set()
    for scope, key, *key_name in pairs:
        if len(key) < MIN_API_KEY_LENGTH:
            raise ValueError(
                f"{name}: a {scope!r} key has {len(key)} characters; at least "
                f"{MIN_API_KEY_LENGTH} are needed (e.g. `openssl rand -hex 32`)"
            )
        if key in seen:
            raise ValueError(
                f"{name}: one key is listed twice (scopes {seen[key]!r} and {scope!r}); "
                "give every scope its own key"
            )
        seen[key] = scope
        if key_name and key_name[0] in names:
            raise ValueError(f"{name}: the key name {key_name[0]!r} is used twice")
        names.update(key_name)


def bind_port(bind: str) -> int:
    """The TCP port of a gunicorn `host:port` bind address."""
    _host, separator, port = bind.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"{bind!r} is not a host:port address")
    return int(port)


def _env_auth(name: str) -> bool:
    """Authentication is on unless the variable is exactly `off`; a typo must not open the API."""
    value = os.environ.get(name, "on")
    if value not in ("on", "off"):
        raise ValueError(f"{name} must be `on` or `off`, not {value!r}")
    return value == "on"


def _env_log_level(name: str) -> str:
    """A level name in any case (`debug` as gunicorn's own --log-level takes it); anything else
    stops the start-up here, not as a crash in every worker."""
    value = os.environ.get(name, "INFO").upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {value.lower()!r}")
    return value


def _env_optional(name: str) -> str | None:
    return os.environ.get(name) or None


def _env_optional_float(name: str) -> float | None:
    value = _env_optional(name)
    return None if value is None else float(value)


def _env_key_secret(name: str) -> str | None:
    secret = _env_optional(name)
    if secret is not None and len(secret) < MIN_KEY_SECRET_LENGTH:
        raise ValueError(
            f"{name} has {len(secret)} characters; at least {MIN_KEY_SECRET_LENGTH} are needed"
        )
    return secret


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in {"0", "false", "off", "no", ""}


@dataclass(frozen=True)
class EventsSettings:
    """Live streams (GET /events), FACEREC_EVENTS_<NAME>. In the container and the pod they are
    served by `facerec-events` (api/events_server.py), one asyncio process: an open stream costs
    a socket and a little memory there."""

    bind: str = "127.0.0.1:8002"  # where the proxy sends /events to it
    # Open streams one replica serves, and one API key holds (auth on); one more gets 503/429
    # with Retry-After.
    max_streams: int = 2000
    max_streams_per_key: int = 500
    # gunicorn's own /events (`make run`, one process, no proxy): at most this many of a
    # worker's threads hold a stream (never all: one is always left for recognition).
    thread_streams: int = 2
    poll_seconds: float = 1.0
    # A stream ends after this long (EventSource reconnects with Last-Event-ID).
    stream_seconds: float = 300.0


@dataclass(frozen=True)
class ProxySettings:
    """The pod's nginx in front of gunicorn and facerec-events (api/proxy_config.py),
    FACEREC_PROXY_<NAME>: where it listens, how long a client may take to send its headers and
    between two body reads, and how many connections one client address may hold at once."""

    bind: str = "0.0.0.0:8000"
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 20
    connections_per_client: int = 256


def _group_from_env(group: type, prefix: str):
    """A group of settings, each from `prefix` + its name in capitals, parsed as its default is."""
    return group(
        **{
            f.name: type(f.default)(os.environ.get(prefix + f.name.upper(), f.default))
            for f in fields(group)
        }
    )


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment; build one with `Settings.from_env()`."""

    # Read-only networks (MTCNN, SFace, dlib's ResNet, Inception-ResNet-v1, UltraFace) made by
    # `facerec-models build`.
    bundle_dir: Path = Path("models")
    # Trained classifiers: a shared volume (NFS in the cluster) every replica watches.
    model_dir: Path = Path("var/model-store")
    database_url: str = "sqlite:///var/facerec.db"
    # Bounds connecting to the database and each read and write: a hung database costs a
    # request this long at most (then 503), and only until the circuit breaker opens.
    database_timeout_seconds: float = 5.0
    # "onnx" serves; "torch" is the facenet-pytorch reference for parity tests and benchmarks
    # (it runs the casia embedder, its default).
    backend: str = "onnx"
    # Threads per ONNX Runtime session; 0 lets ONNX Runtime decide.
    ort_threads: int = 1
    # The network that embeds faces: sface+dlib (default), sface, dlib or casia; measured in
    # docs/recognition.md. Checked with the backend at start-up (recognition/networks/).
    embedder: str = networks.DEFAULT_EMBEDDER
    # Open-set rejection: a face is named only when its similarity to the person reaches a
    # threshold chosen, for the gallery's size, so that at most this share of strangers is named.
    false_accept_rate: float = 0.01
    # A fixed similarity threshold instead (None: calibrated from false_accept_rate).
    match_threshold: float | None = None
    # False accepts per stranger TRACK of 2+ crops (None: the measured default,
    # recognition.tracks.TRACK_FALSE_ACCEPT_RATE, 0.25%).
    track_false_accept_rate: float | None = None
    # Enrolled faces above which the gallery is searched through an HNSW graph, not exactly.
    hnsw_threshold: int = 50_000
    # Pixels of context around the MTCNN box in the 160 px crop (calibrated: docs/recognition.md).
    face_margin: float = 32.0
    # MTCNN's smallest face in px. facenet-pytorch uses 20; 40 is 2x faster on edge crops and a
    # face under 40 px carries too little detail to recognise (docs/recognition.md).
    min_face_size: int = 40
    # On an upload marked `crop=true` (an edge crop: one face filling most of it) MTCNN looks
    # only for faces at least this share of the short side: 2-3 of its pyramid levels, not 5-7.
    crop_min_face_fraction: float = 1 / 3
    # A face whose crop quality (recognition.tracks.crop_quality: size vs the 112 px chip x
    # detector confidence) is below this names nobody, is no track's evidence and is refused
    # for enrolment (measured by benchmarks/quality_floor.py: docs/recognition.md).
    min_crop_quality: float = 0.2
    # Enrolment warns when the face looks like another enrolled person: at the threshold that,
    # for the model's size, at most this share of different people reaches (measured by
    # benchmarks/lookalikes.py: 0.5% keeps both targets of issue 23, the 1:1 threshold does not).
    lookalike_warning_rate: float = 0.005
    keep_models: int = 5
    model_poll_seconds: float = 1.0
    auth_enabled: bool = True
    max_upload_bytes: int = 10 * 1024 * 1024
    # Decoded images above this many pixels are refused (decompression bombs).
    max_image_pixels: int = 40_000_000
    # Larger uploads are shrunk while decoding to this long side (boxes are mapped back): a
    # 40 Mpx PNG of 116 KB must not cost a worker gigabytes.
    max_decoded_side: int = 4096
    # Faces embedded and named per image, the largest first; the rest are counted, not processed.
    max_faces: int = 20
    log_level: str = "INFO"
    # (scope, key) or (scope, key, name) from FACEREC_API_KEYS: the whole set of accepted keys
    # (api/keys.py); a key without a name gets a derived one.
    api_keys: tuple[tuple[str, ...], ...] = ()
    # HMAC-SHA256 key for the digests of API keys in the database; None: keys stay in memory
    # only and the database holds none (api/keys.py).
    key_secret: str | None = None
    # gunicorn: where to listen, how many worker processes, seconds before a stuck worker dies.
    bind: str = "0.0.0.0:8000"
    # A second listener for /metrics, /readyz and /healthz only (Prometheus and the kubelet);
    # when set, the public `bind` answers 404 for /metrics and /readyz. None: all on `bind`.
    ops_bind: str | None = None
    workers: int = 2
    # Threads per worker (gthread): a slow client or a stuck database call holds one thread,
    # not the whole worker, so /healthz and recognitions go on.
    threads: int = 4
    worker_timeout: int = 300
    access_log: bool = True
    # prometheus_client's multiprocess folder (it reads the variable itself, too); None: one process.
    metrics_dir: Path | None = None
    # The training lease: how long a holder that stopped renewing keeps other replicas out.
    training_lease_seconds: float = 30.0
    # Days a sighting (its row, face thumbnail and embedding) is kept; 0 keeps them forever.
    retention_days: float = 30.0
    # A stranger's track joins the group of an earlier unknown track when they are as similar
    # as only this share of pairs of different people are (benchmarks/track_groups.py, LFW
    # tracks: 99.1% pure groups at 3e-6, 97.2% at 1e-5).
    unknown_join_rate: float = 3e-6
    # ... and at this looser rate when both were seen by one camera within this many seconds of
    # each other (a person who left the frame and came back); 0 seconds: no looser join.
    unknown_nearby_join_rate: float = 1e-4
    unknown_nearby_seconds: float = 60.0
    # Every recorded sighting is POSTed here as JSON, signed with HMAC-SHA256 under the secret
    # (workers/webhooks.py); None: no webhooks.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # A track nobody sent a crop for in this many seconds counts as ended (the edge also ends
    # its tracks explicitly, POST /tracks/<camera>/<track>/end).
    track_quiet_seconds: float = 10.0
    # Days an audit row is kept (api/audit.py); 0 keeps them forever.
    audit_retention_days: float = 400.0
    events: EventsSettings = field(default_factory=EventsSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    # Alert rules' weekdays and hours are read in this IANA time zone (zoneinfo).
    site_timezone: str = "UTC"
    # Alert destinations that may be plain http or resolve to a private, loopback or link-local
    # address ("host" or "host:port"); every other destination must be https to a public one.
    alert_allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_api_keys(self.api_keys)
        # An embedder the backend cannot run, or no model could be trained with, stops the
        # start-up here rather than failing the first training.
        networks.choose(self.embedder, self.backend)
        if self.webhook_url and len(self.webhook_secret or "") < 16:
            raise ValueError("FACEREC_WEBHOOK_URL needs FACEREC_WEBHOOK_SECRET (16+ characters)")
        if not 0 <= self.retention_days < 100_000:
            raise ValueError("FACEREC_RETENTION_DAYS must be from 0 (keep forever) to 99999")
        rate = self.track_false_accept_rate
        if rate is not None and not 0 < rate < 1:
            raise ValueError("FACEREC_TRACK_FALSE_ACCEPT_RATE must be above 0 and below 1")
        if not 0 <= self.audit_retention_days < 100_000:
            raise ValueError("FACEREC_AUDIT_RETENTION_DAYS must be from 0 (keep forever) to 99999")
        if not 0 <= self.min_crop_quality < 1:
            raise ValueError("FACEREC_MIN_CROP_QUALITY must be from 0 to below 1")
        if not 0 < self.lookalike_warning_rate < 1:
            raise ValueError("FACEREC_LOOKALIKE_WARNING_RATE must be a share above 0, below 1")
        if not 0 <= self.crop_min_face_fraction < 1:
            raise ValueError("FACEREC_CROP_MIN_FACE_FRACTION must be from 0 to below 1")
        if self.ops_bind is not None and bind_port(self.ops_bind) == bind_port(self.bind):
            raise ValueError("FACEREC_OPS_BIND needs a port of its own, not FACEREC_BIND's")
        if min(self.events.max_streams, self.events.max_streams_per_key) < 1:
            raise ValueError("FACEREC_EVENTS_MAX_STREAMS(_PER_KEY) must be at least 1")
        if self.events.thread_streams < 0:
            raise ValueError("FACEREC_EVENTS_THREAD_STREAMS must be 0 or more")
        _check_time_zone(self.site_timezone)

    @classmethod
    def from_env(cls) -> Settings:
        backend = _env("FACEREC_BACKEND", "onnx")
        return cls(
            bundle_dir=Path(_env("FACEREC_MODEL_BUNDLE", "models")),
            model_dir=Path(_env("FACEREC_MODEL_DIR", "var/model-store")),
            database_url=_env("FACEREC_DATABASE_URL", "sqlite:///var/facerec.db"),
            database_timeout_seconds=_env_float("FACEREC_DATABASE_TIMEOUT_SECONDS", 5.0),
            backend=backend,
            ort_threads=_env_int("FACEREC_ORT_THREADS", 1),
            embedder=_env("FACEREC_EMBEDDER", networks.default_embedder(backend)),
            false_accept_rate=_env_float("FACEREC_FALSE_ACCEPT_RATE", 0.01),
            match_threshold=_env_optional_float("FACEREC_MATCH_THRESHOLD"),
            track_false_accept_rate=_env_optional_float("FACEREC_TRACK_FALSE_ACCEPT_RATE"),
            hnsw_threshold=_env_int("FACEREC_HNSW_THRESHOLD", 50_000),
            face_margin=_env_float("FACEREC_FACE_MARGIN", 32.0),
            min_face_size=_env_int("FACEREC_MIN_FACE_SIZE", 40),
            crop_min_face_fraction=_env_float("FACEREC_CROP_MIN_FACE_FRACTION", 1 / 3),
            min_crop_quality=_env_float("FACEREC_MIN_CROP_QUALITY", 0.2),
            lookalike_warning_rate=_env_float("FACEREC_LOOKALIKE_WARNING_RATE", 0.005),
            keep_models=_env_int("FACEREC_KEEP_MODELS", 5),
            model_poll_seconds=_env_float("FACEREC_MODEL_POLL_SECONDS", 1.0),
            auth_enabled=_env_auth("FACEREC_AUTH"),
            max_upload_bytes=_env_int("FACEREC_MAX_UPLOAD_MB", 10) * 1024 * 1024,
            max_image_pixels=_env_int("FACEREC_MAX_IMAGE_PIXELS", 40_000_000),
            max_decoded_side=_env_int("FACEREC_MAX_DECODED_SIDE", 4096),
            max_faces=_env_int("FACEREC_MAX_FACES", 20),
            log_level=_env_log_level("FACEREC_LOG_LEVEL"),
            api_keys=_env_api_keys("FACEREC_API_KEYS"),
            key_secret=_env_key_secret("FACEREC_KEY_SECRET"),
            bind=_env("FACEREC_BIND", "0.0.0.0:8000"),
            ops_bind=_env_optional("FACEREC_OPS_BIND"),
            workers=_env_int("FACEREC_WORKERS", 2),
            threads=_env_int("FACEREC_THREADS", 4),
            worker_timeout=_env_int("FACEREC_WORKER_TIMEOUT", 300),
            access_log=_env_bool("FACEREC_ACCESS_LOG", True),
            metrics_dir=Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR")
            else None,
            training_lease_seconds=_env_float("FACEREC_TRAINING_LEASE_SECONDS", 30.0),
            retention_days=_env_float("FACEREC_RETENTION_DAYS", 30.0),
            unknown_join_rate=_env_float("FACEREC_UNKNOWN_JOIN_RATE", 3e-6),
            unknown_nearby_join_rate=_env_float("FACEREC_UNKNOWN_NEARBY_JOIN_RATE", 1e-4),
            unknown_nearby_seconds=_env_float("FACEREC_UNKNOWN_NEARBY_SECONDS", 60.0),
            webhook_url=_env_optional("FACEREC_WEBHOOK_URL"),
            webhook_secret=_env_optional("FACEREC_WEBHOOK_SECRET"),
            track_quiet_seconds=_env_float("FACEREC_TRACK_QUIET_SECONDS", 10.0),
            audit_retention_days=_env_float("FACEREC_AUDIT_RETENTION_DAYS", 400.0),
            events=_group_from_env(EventsSettings, "FACEREC_EVENTS_"),
            proxy=_group_from_env(ProxySettings, "FACEREC_PROXY_"),
            **_alerts_from_env(),
        )


def _check_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"FACEREC_SITE_TIMEZONE {name!r} is not an IANA time zone") from None


def _alerts_from_env() -> dict:
    hosts = _env("FACEREC_ALERT_ALLOWED_HOSTS", "")
    return {
        "site_timezone": _env("FACEREC_SITE_TIMEZONE", "UTC"),
        "alert_allowed_hosts": tuple(h.strip().lower() for h in hosts.split(",") if h.strip()),
    }
