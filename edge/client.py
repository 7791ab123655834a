"""The cloud API over one keep-alive HTTP session: timeouts, and retries with backoff on 5xx and
connection errors (never on 4xx: the request itself is wrong, sending it again cannot help)."""

from __future__ import annotations

import logging
import random
import time
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
GET_RESULTS = "/face-recognition/get-results"
STORE_RESULTS = "/face-recognition/store-results"


def base_url(api_url: str | None = None, ip_address: str | None = None) -> str:
    """`--api-url` as given, else `http://{ip_address}` with port 8000 when none is given."""
    if api_url:
        return api_url.rstrip("/")
    if not ip_address:
        raise ValueError("give --api-url or --ip-address")
    host = ip_address if "://" in ip_address else f"http://{ip_address}"
    parts = urlsplit(host)
    if parts.port is None:
        host = f"{parts.scheme}://{parts.hostname}:{DEFAULT_PORT}{parts.path}"
    return host.rstrip("/")


def image_field(jpeg: bytes, name: str = "face.jpg") -> dict:
    """The multipart `image` field every upload route takes."""
    return {"image": (name, jpeg, "image/jpeg")}


class ApiError(RuntimeError):
    """The API refused the request (4xx), or kept failing after every retry (5xx / unreachable)."""

    def __init__(self, status: int | None, error: str, message: str):
        super().__init__(f"{status or 'no answer'}: {error}: {message}")
        self.status = status
        self.error = error
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500


def _error_from(response: requests.Response) -> ApiError:
    try:
        body = response.json()
        return ApiError(
            response.status_code,
            str(body.get("error", response.reason)),
            str(body.get("message", "")),
        )
    except ValueError:
        return ApiError(response.status_code, response.reason or "error", response.text[:200])


class ApiClient:
    """Thin client of the facerec REST API, reusing one connection pool for every call."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        pool_size: int = 4,
        session: requests.Session | None = None,
    ):
        """`session`: one to share (e.g. a test's, carrying its own key); else a new pool."""
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so N edges do not retry in lockstep."""
        return random.uniform(0, self.backoff * 2**attempt)

    def request(self, method: str, path: str, retries: int | None = None, **kwargs) -> dict:
        """JSON answer of a call; raises ApiError on 4xx at once, on 5xx / no answer after retries."""
        retries = self.retries if retries is None else retries
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(retries + 1):
            try:
                response = self.session.request(method, f"{self.url}{path}", **kwargs)
            except requests.RequestException as exc:
                error = ApiError(None, type(exc).__name__, str(exc))
            else:
                if response.status_code < 400:
                    return response.json() if response.content else {}
                error = _error_from(response)
            if not error.retryable or attempt == retries:
                raise error
            delay = self._delay(attempt)
            log.debug("%s %s failed (%s), retrying in %.2f s", method, path, error, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def list_people(self) -> dict[str, int]:
        """person id -> number of images."""
        body = self.request("GET", "/dataset")
        return {item["id_name"]: item["number_of_images"] for item in body.get("face_ids", [])}

    def create_person(self, person_id: str) -> dict:
        return self.request("POST", f"/dataset/{person_id}")

    def add_image(self, person_id: str, image: bytes, name: str = "face.jpg") -> dict:
        return self.request("POST", f"/dataset/{person_id}/image", files=image_field(image, name))

    def train(self, wait: bool = True, kind: str = "train") -> dict:
        """Start a training job (`train` or `optimized-train`); with `wait`, the finished job."""
        # Training can take a while: no client timeout shorter than the server's work.
        return self.request(
            "POST",
            f"/model/{kind}",
            params={"wait": str(wait).lower()},
            timeout=max(self.timeout, 600),
        )

    def recognize(self, image: bytes, crop: bool = True) -> dict:
        """Who is in `image`; `crop` tells the cloud it is an edge crop (one face filling most
        of it), so it looks only for faces that large. Pass False for a whole photo."""
        return self.request(
            "POST",
            GET_RESULTS,
            files=image_field(image),
            data={"crop": str(crop).lower()},
        )

    def store_results(
        self,
        image: bytes,
        camera_id: str,
        location_id: str,
        retries: int | None = None,
        crop: bool = True,
        track_id: str | None = None,
    ) -> dict:
        """Recognise and record; `crop` as in `recognize`. `track_id` names the edge track the
        crop belongs to (issue #22; an API that does not know the field ignores it)."""
        data = {"camera_id": camera_id, "location_id": location_id, "crop": str(crop).lower()}
        if track_id is not None:
            data["track_id"] = track_id
        return self.request(
            "POST",
            STORE_RESULTS,
            files=image_field(image),
            data=data,
            retries=retries,
        )

    def end_track(self, camera_id: str, track_id: str, retries: int | None = None) -> dict:
        """Tell the cloud the edge saw a track's person leave (it closes the track at once,
        rather than after its quiet period)."""
        path = f"/tracks/{quote(camera_id, safe='')}/{quote(track_id, safe='')}/end"
        return self.request("POST", path, retries=retries)
