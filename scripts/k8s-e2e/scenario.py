"""The end-to-end scenario on the Kubernetes node `cluster.sh up` started (docs/deploy.md).

Each step checks one promise the deployment makes; the first broken one stops the run with its
evidence, and the numbers of every step are printed as they come. run.sh runs it with the
repository's virtual environment:

    python scripts/k8s-e2e/scenario.py --tag e2e --next-tag e2e-next
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scripts.cluster.loadgen import Load, SlowHeaders, post_image  # noqa: E402
from scripts.cluster.steps import (  # noqa: E402
    GET_RESULTS,
    STORE_RESULTS,
    PointerWatch,
    enrol,
    train,
    upload,
)
from scripts.throwaway_secrets import throwaway_secrets, write_secrets_env  # noqa: E402

NAMESPACE = "facerec"
API_LABEL = "app.kubernetes.io/name=facerec-api"
MARIADB_IP = "10.0.0.53"  # k8s/overlays/e2e pins it
ENROLLED = {"obama": ["obama1.jpg", "obama2.jpg", "obama3.jpg"], "lin_manuel_miranda": ["lin1.png"]}
HELD_OUT = ("obama", "obama5_720p.jpg")
LOAD_IMAGE = ("kit_harington", "kit2.jpg")  # nobody enrolled: answered `unknown`, still a 200
# Sockets that send request headers a line every 2 s during the load (issue 21): the pods' nginx
# holds them, so they cost gunicorn nothing, and no request of the load may fail.
SLOW_CLIENTS = 100
API_CONTAINERS = ("api", "events", "proxy")  # one image, three roles (k8s/base/api.yaml)


class Broken(AssertionError):
    """A promise of the deployment that the cluster did not keep."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Broken(message)


def report(step: str, **numbers) -> None:
    print(json.dumps({"step": step, **numbers}), flush=True)


class Cluster:
    """kubectl against the e2e node, and the facts the scenario reads from it."""

    def __init__(self, kubeconfig: Path):
        self.kubeconfig = kubeconfig

    def kubectl(self, *args: str, timeout: float = 330) -> str:
        command = ["kubectl", "--kubeconfig", str(self.kubeconfig), "-n", NAMESPACE, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise Broken(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def jsonpath(self, kind: str, path: str, *selector: str) -> str:
        return self.kubectl("get", kind, *selector, "-o", f"jsonpath={path}")

    def _live_api_pods(self) -> list[dict]:
        """The API pods that are not being deleted (a terminating pod serves out its grace)."""
        pods = json.loads(self.kubectl("get", "pods", "-l", API_LABEL, "-o", "json"))["items"]
        return [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]

    def api_pods(self) -> dict[str, str]:
        """Ready API pods: name -> pod IP."""
        ready = {}
        for pod in self._live_api_pods():
            conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
            if conditions.get("Ready") == "True":
                ready[pod["metadata"]["name"]] = pod["status"]["podIP"]
        return ready

    def pod_images(self) -> set[str]:
        return {c["image"] for pod in self._live_api_pods() for c in pod["spec"]["containers"]}

    def wait_rollout(self) -> None:
        self.kubectl("rollout", "status", "statefulset/mariadb", "--timeout=300s")
        self.kubectl("rollout", "status", "deployment/facerec-api", "--timeout=300s")


def keyed_session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-API-Key"] = key
    return session


def wait_http(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise Broken(f"{url} never answered 200 within {seconds:.0f} s")


def image_defaults(tag: str, people: Path) -> None:
    """The API image's defaults work as uid 10001 on a read-only root: SQLite and the model store
    land in its /var/lib/facerec volume, nowhere else."""
    name = "facerec-e2e-defaults"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    subprocess.run(
        ["podman", "run", "-d", "--name", name, "--read-only", "--user", "10001:10001",
         "-p", "127.0.0.1:18000:8000", "-e", "FACEREC_AUTH=off", f"localhost/facerec/api:{tag}"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        url = "http://127.0.0.1:18000"
        wait_http(f"{url}/healthz")
        person, photos = "obama", ENROLLED["obama"]
        accepted = enrol(url, person, [people / person / p for p in photos])
        job = train(url)
        label, waited = recognise_held_out(url, requests.Session(), people)
        report("image defaults", accepted=accepted, model=job.get("model_version"), label=label,
               swap_s=round(waited, 2))  # fmt: skip
    except Exception:
        logs = subprocess.run(
            ["podman", "logs", "--tail", "60", name], capture_output=True, text=True
        )
        print(f"the container's last log lines:\n{logs.stdout}{logs.stderr}", file=sys.stderr)
        raise
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "5", name], capture_output=True)


def deploy(cluster: Cluster, run_dir: Path) -> dict[str, str]:
    """`kubectl apply -k k8s/overlays/e2e`, on a copy that holds this run's throw-away secrets."""
    tree = run_dir / "k8s"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(REPO / "k8s", tree)
    values = throwaway_secrets()
    write_secrets_env(tree / "overlays" / "local", values)
    started = time.monotonic()
    cluster.kubectl("apply", "-k", str(tree / "overlays" / "e2e"))
    cluster.wait_rollout()
    pods = cluster.api_pods()
    check(len(pods) == 2, f"expected 2 ready API replicas, got {sorted(pods)}")
    ready = time.monotonic() - started
    # Ready means the networks are loaded; the database's state is in /readyz's body. On a first
    # start MariaDB initialises while the API pods load, and a worker that found it down waits
    # for its monitor's next ping: wait until every pod's workers see it up (fresh connections
    # land on either worker).
    for name, ip in pods.items():
        wait_for(
            f"{name} to see MariaDB up", lambda ip=ip: all(database_up(ip) for _ in range(8)), 120
        )
    report(
        "deploy",
        ready_s=round(ready, 1),
        database_up_s=round(time.monotonic() - started, 1),
        api_pods=sorted(pods),
    )
    return values


def database_up(pod_ip: str) -> bool:
    try:
        response = requests.get(
            f"http://{pod_ip}:9100/readyz", headers={"Connection": "close"}, timeout=5
        )
        return response.json().get("database") == "up"
    except (requests.RequestException, ValueError):
        return False


def enrol_train_recognise(url: str, admin: requests.Session, people: Path) -> None:
    started = time.monotonic()
    accepted = {
        person: enrol(url, person, [people / person / p for p in photos], http=admin)
        for person, photos in ENROLLED.items()
    }
    job = train(url, http=admin)
    label, waited = recognise_held_out(url, admin, people)
    report("enrol, train, recognise", accepted=accepted, model=job.get("model_version"),
           label=label, swap_s=round(waited, 2), seconds=round(time.monotonic() - started, 1))  # fmt: skip


def recognise_held_out(url: str, http: requests.Session, people: Path) -> tuple[str, float]:
    """The held-out photo is named right within 2 s of the training job's end: the worker that
    trained published the model, and every other worker swaps to it when its watcher sees it."""
    started = time.monotonic()
    while True:
        answer = http.post(
            f"{url}{GET_RESULTS}", files=upload(people / HELD_OUT[0] / HELD_OUT[1]), timeout=60
        )
        check(answer.status_code == 200, f"get-results: {answer.status_code} {answer.text}")
        top = answer.json()["faces"][0]["top_prediction"]
        waited = time.monotonic() - started
        if top["label"] == HELD_OUT[0]:
            return top["label"], waited
        check(waited < 2.0, f"the held-out photo of {HELD_OUT[0]} came back as {top} for 2 s")
        time.sleep(0.1)


def edge_to_mariadb(url: str, tag: str, key: str, db: dict[str, str], clip: Path) -> None:
    """The edge image's daemon sends the clip's crops; the recognitions are rows in MariaDB."""
    camera = f"e2e-{secrets.token_hex(3)}"
    done = subprocess.run(
        ["podman", "run", "--rm", "--network", "host", "-v", f"{clip.parent}:/video:ro",
         f"localhost/facerec/edge:{tag}", "--source", f"/video/{clip.name}", "--api-url", url,
         "--api-key", key, "--camera-id", camera, "--max-frames", "150", "--queue-size", "1000",
         "--drain-timeout", "120", "--log-level", "WARNING"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    check(done.returncode == 0, f"the edge daemon failed: {done.stderr[-2000:]}")
    sent = int(re.search(r"(\d+) sent", done.stdout).group(1))
    failed = int(re.search(r"(\d+) failed", done.stdout).group(1))
    rows = subprocess.run(
        ["mariadb", "-h", MARIADB_IP, "-u", db["DB_USER"], f"-p{db['DB_PASSWORD']}", "facerec",
         "-N", "-e", f"SELECT COUNT(*) FROM recognitions WHERE camera_id = '{camera}'"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    check(sent > 0 and failed == 0, f"edge: {sent} crops sent, {failed} failed")
    # A crop in which MTCNN finds no face (an edge false positive) leaves no row, by design.
    check(0 < int(rows) <= sent, f"{sent} crops sent, {rows} recognitions in MariaDB")
    report("edge daemon to MariaDB", crops_sent=sent, recognitions_in_mariadb=int(rows))


class LoadOn:
    """Two kinds of client at once, two threads each, posting a face: one opens a new connection
    per request (as many edge nodes behind NAT look), the other keeps its connection alive (as
    the edge's own session, browsers and SDKs do), which pins it to one pod until that pod goes.
    Neither retries: a request the cluster drops is counted as failed. Beside them, a slow-client
    attack: SLOW_CLIENTS sockets trickling request headers (reconnecting when nginx cuts them)."""

    def __init__(self, url: str, key: str, people: Path):
        host, _, port = url.removeprefix("http://").partition(":")
        self.attack = SlowHeaders(host, int(port or 80), SLOW_CLIENTS)
        image = (people / LOAD_IMAGE[0] / LOAD_IMAGE[1]).read_bytes()
        send = post_image(f"{url}{GET_RESULTS}", image)

        def client(connection: str):
            def keyed(session: requests.Session, sequence: int) -> requests.Response:
                session.headers.update({"X-API-Key": key, "Connection": connection})
                return send(session, sequence)

            return Load(keyed, concurrency=2, duration=900)

        self.loads = {"new_connection": client("close"), "keep_alive": client("keep-alive")}

    def __enter__(self) -> LoadOn:
        self.attack.__enter__()
        for load in self.loads.values():
            load.start()
        return self

    def __exit__(self, *exc) -> None:
        for load in self.loads.values():
            load.stop()
        self.attack.__exit__(*exc)

    def summary(self) -> dict:
        numbers = {}
        for kind, load in self.loads.items():
            failures = load.failures()
            numbers[kind] = {
                "requests": len(load.outcomes),
                "failed": len(failures),
                "first_failures": [(o.status, o.error, o.body) for o in failures[:3]],
            }
        numbers["failed"] = sum(kind["failed"] for kind in numbers.values())
        numbers["slow_clients"] = {"sockets": SLOW_CLIENTS, "cut_by_nginx": self.attack.cut}
        return numbers


def wait_for(what: str, condition, seconds: float = 300) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise Broken(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def pod_deleted_under_load(cluster: Cluster, url: str, key: str, people: Path) -> None:
    before = cluster.api_pods()
    victim = sorted(before)[0]
    with LoadOn(url, key, people) as load:
        time.sleep(5)
        cluster.kubectl("delete", "pod", victim, "--wait=false")
        seconds = wait_for(
            "a replacement API pod",
            lambda: len(pods := cluster.api_pods()) == 2 and victim not in pods,
        )
        time.sleep(5)
    numbers = load.summary()
    report("API pod deleted under load", replaced_in_s=round(seconds, 1), **numbers)
    check(numbers["failed"] == 0, f"{numbers['failed']} requests failed while a pod was replaced")


def rolling_update_under_load(cluster: Cluster, url: str, key: str, people: Path, tag: str) -> None:
    image = f"localhost/facerec/api:{tag}"
    with LoadOn(url, key, people) as load:
        time.sleep(5)
        started = time.monotonic()
        containers = [f"{name}={image}" for name in API_CONTAINERS]
        cluster.kubectl("set", "image", "deployment/facerec-api", *containers)
        cluster.kubectl(
            "rollout", "status", "deployment/facerec-api", "--timeout=400s", timeout=420
        )
        seconds = time.monotonic() - started
        time.sleep(5)
    numbers = load.summary()
    report("rolling update under load", image=image, seconds=round(seconds, 1), **numbers)
    check(cluster.pod_images() == {image}, f"pods still run {cluster.pod_images()}")
    check(numbers["failed"] == 0, f"{numbers['failed']} requests failed during the rolling update")


def events_through_the_proxy(url: str, keys: dict[str, str], people: Path) -> None:
    """A crop stored through the Service (a track of its own) reaches an /events stream opened
    through it as the track's 'start' event (the pods' nginx -> facerec-events), whichever pod
    each landed on."""
    camera = f"e2e-events-{secrets.token_hex(3)}"
    got: list[float] = []
    with requests.get(
        f"{url}/events?camera={camera}",
        headers={"X-API-Key": keys["admin"]},
        stream=True,
        timeout=(5, 30),
    ) as stream:
        # Not check(): its message would read the whole stream (5 minutes) before it is called.
        if stream.status_code != 200:
            raise Broken(f"/events: {stream.status_code} {stream.text[:300]}")
        time.sleep(1.5)  # a stream starts "from now"
        stored = requests.post(
            f"{url}{STORE_RESULTS}",
            files=upload(people / HELD_OUT[0] / HELD_OUT[1]),
            data={"camera_id": camera, "location_id": "e2e"},
            headers={"X-API-Key": keys["recognize"]},
            timeout=60,
        )
        check(stored.status_code == 200, f"store-results: {stored.status_code} {stored.text}")
        sent = time.monotonic()
        for line in stream.iter_lines(decode_unicode=True):  # a heartbeat every 2 s at least
            if line.startswith("data: ") and json.loads(line[6:])["kind"] == "start":
                got.append(time.monotonic() - sent)
            if got or time.monotonic() - sent > 10:
                break
    check(bool(got), "no track event reached the /events stream")
    report("track event on /events through the proxy", latency_s=round(got[0], 2))
    check(got[0] < 3.0, f"the track event took {got[0]:.2f} s to reach the stream")


def model_reaches_other_replica(cluster: Cluster, key: str, store: Path) -> None:
    """Train through one pod; the other serves the new version within 2 s (the shared volume)."""
    (trainer, trainer_ip), (other, other_ip) = sorted(cluster.api_pods().items())
    admin = keyed_session(key)
    with PointerWatch(store / "CURRENT") as pointer:
        job = train(f"http://{trainer_ip}:8000", kind="optimized-train", http=admin)
        version = job.get("model_version")
        check(bool(version), f"the training job names no model version: {job}")
        wait_for(f"CURRENT to name {version}", lambda: pointer.switched_to(version) is not None, 30)
        model_url = f"http://{other_ip}:8000/model"
        while admin.get(model_url, timeout=5).json()["model_version"] != version:
            check(
                time.monotonic() - pointer.switched_to(version) < 10,
                f"{other} never served {version}",
            )
            time.sleep(0.02)
        lag = time.monotonic() - pointer.switched_to(version)
    report("new model on the other replica", trained_on=trainer, served_by=other, version=version,
           lag_s=round(lag, 2))  # fmt: skip
    check(lag <= 2.0, f"{other} served {version} {lag:.2f} s after it was published (limit 2 s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("FACEREC_K8S_CACHE", Path.home() / ".cache" / "facerec-k8s"))
    parser.add_argument("--run-dir", type=Path, default=cache / "run")
    parser.add_argument(
        "--faces", type=Path, default=REPO / "tests" / "data", help="people/ and video/ (vendored)"
    )
    parser.add_argument("--volumes", type=Path, default=Path("/var/lib/facerec-e2e"))
    parser.add_argument("--tag", default="e2e")
    parser.add_argument("--next-tag", default="e2e-next")
    args = parser.parse_args()
    people = args.faces / "people"
    cluster = Cluster(args.run_dir / "kubeconfig")
    started = time.monotonic()
    try:
        image_defaults(args.tag, people)
        values = deploy(cluster, args.run_dir)
        keys = dict(pair.split(":", 1) for pair in values["FACEREC_API_KEYS"].split(","))
        url = f"http://{cluster.jsonpath('service/facerec-api', '{.spec.clusterIP}')}"
        enrol_train_recognise(url, keyed_session(keys["admin"]), people)
        clip = args.faces / "video" / "short_hamilton_clip.mp4"
        edge_to_mariadb(url, args.tag, keys["recognize"], values, clip)
        events_through_the_proxy(url, keys, people)
        pod_deleted_under_load(cluster, url, keys["recognize"], people)
        rolling_update_under_load(cluster, url, keys["recognize"], people, args.next_tag)
        model_reaches_other_replica(cluster, keys["admin"], args.volumes / "models")
    except Broken as broken:
        print(f"k8s-e2e FAILED: {broken}", file=sys.stderr)
        return 1
    report("all", seconds=round(time.monotonic() - started, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
