"""Issue 11, item 15: the code stays small and honest.

Before: routes read `current_app.extensions["facerec"]` in seven places, `storage/database.py`
was 711 lines of every area at once, and 13 definitions (a whole table among them) were kept
alive only by the tests that exercised them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Database

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "recognition", "storage", "workers", "bundler", "batch", "edge", "clients")
# Code that runs outside the tests and benchmarks: what keeps a definition alive.
CALLERS = (*PACKAGES, "scripts")
# Files that name code by string: console scripts, the gunicorn app factory.
ENTRY_POINTS = ("pyproject.toml", "Makefile", "Dockerfile", "gunicorn.conf.py")
# Called by a framework, never by name: flask-restx verbs, SQLAlchemy type hooks, torch modules,
# flask-restx's challenge for 401s.
FRAMEWORK_HOOKS = {
    "get",
    "post",
    "put",
    "delete",
    "forward",
    "load_dialect_impl",
    "process_bind_param",
    "process_result_value",
    "unauthorized",
}
MAX_STORAGE_MODULE_LINES = 350


def python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_routes_reach_the_service_through_one_accessor():
    touching = {
        path.relative_to(ROOT).as_posix()
        for path in python_files(*PACKAGES)
        if re.search(r"\.extensions\[", path.read_text())
    }
    # service.py reads it (service_of, current_service); the app factory sets it.
    assert touching == {"api/service.py", "api/app.py"}


def test_storage_is_split_by_area_behind_one_facade():
    sizes = {path.name: len(path.read_text().splitlines()) for path in python_files("storage")}
    assert max(sizes.values()) <= MAX_STORAGE_MODULE_LINES, sizes
    areas = {cls.__module__.rsplit(".", 1)[-1] for cls in Database.__mro__[1:]}
    assert {"people", "recognitions", "training_jobs", "api_keys", "transactions"} <= areas


def referenced_names() -> set[str]:
    """Every name and attribute used in code outside the tests (definitions do not count)."""
    names: set[str] = set()
    for path in python_files(*CALLERS):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).rsplit(".", 1)[-1])
    for name in ENTRY_POINTS:
        names |= set(re.findall(r"\w+", (ROOT / name).read_text()))
    return names


def public_definitions():
    """(where, name) of each public module-level function, class, constant and each public
    method, in the shipped packages."""
    for path in python_files(*PACKAGES):
        tree = ast.parse(path.read_text())
        where = path.relative_to(ROOT).as_posix()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                yield where, node.name
            elif isinstance(node, ast.Assign):
                yield from ((where, t.id) for t in node.targets if isinstance(t, ast.Name))
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            for method in cls.body:
                if isinstance(method, ast.FunctionDef):
                    yield f"{where}:{cls.name}", method.name


def is_route(path_and_name: tuple[str, str]) -> bool:
    """flask-restx resources are registered by their decorator (`@ns.route`, or a helper such as
    `@track_route` of api/routes/_shared.py), never named."""
    where, name = path_and_name
    source = (ROOT / where.split(":")[0]).read_text()
    route = r"@\w+[._]route\([^\n]*\)\n"
    return re.search(rf"{route}(@[^\n]*\n)*class {name}\b", source) is not None


def test_nothing_is_kept_alive_only_by_the_tests():
    used = referenced_names()
    unused = [
        f"{where} {name}"
        for where, name in public_definitions()
        if not name.startswith("_")
        and name not in used
        and name not in FRAMEWORK_HOOKS
        and not is_route((where, name))
    ]
    assert sorted(unused) == []


@pytest.mark.parametrize("dependency", ["skops"])
def test_no_dependency_nothing_imports(dependency):
    assert f'"{dependency}' not in (ROOT / "pyproject.toml").read_text()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The first-party modules a file imports when it is imported (not inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found |= submodules if len(submodules) == len(node.names) else {base, *submodules}
    return (found & modules) - {name}


def test_imports_have_no_cycles():
    files = list(python_files(*PACKAGES))
    modules = {module_name(path) for path in files}
    graph = {module_name(path): imported_modules(path, modules) for path in files}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join([*path[path.index(module) :], module])
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_rooms_depend_downwards_only():
    """The recognition core needs neither the service nor storage; storage and the workers
    never reach up into the HTTP service."""
    files = list(python_files(*PACKAGES))
    modules = {module_name(path) for path in files}
    reaches = {room: set() for room in PACKAGES}
    for path in files:
        room = module_name(path).split(".")[0]
        reaches[room] |= {m.split(".")[0] for m in imported_modules(path, modules)} - {room}
    assert reaches["recognition"] == set()
    assert reaches["storage"] <= {"recognition"}
    assert reaches["workers"] <= {"recognition", "storage"}
    assert "api" not in reaches["edge"] | reaches["clients"] | reaches["bundler"]


def test_the_recognition_core_imports_without_flask_or_sqlalchemy():
    code = (
        "import sys, recognition, recognition.sighting, recognition.classifier; "
        "print(sorted({'flask', 'flask_restx', 'sqlalchemy', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# The bundle builder is a build tool (torch model definitions, run once); its dlib network
# definition reads as the layer list it is.
LONG_FUNCTIONS_ALLOWED = {"bundler/dlib_resnet.py:build_torch"}


def test_no_function_is_over_60_lines():
    long = [
        f"{path.relative_to(ROOT).as_posix()}:{node.name}"
        for path in python_files(*PACKAGES)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno >= 60
    ]
    assert sorted(set(long) - LONG_FUNCTIONS_ALLOWED) == []


# One concept in two layers: the HTTP routes of a storage area, each layer's errors, and each
# program's configuration and command line.
SHARED_MODULE_NAMES = {
    *("unknowns", "recognitions", "tracks", "events", "audit", "errors", "config", "cli"),
    "alerts",  # storage.alerts (rules, rows) and api.routes.alerts
    "corrections",  # storage.corrections (label changes) and api.routes.corrections
}


def test_no_two_modules_share_a_name_unless_one_concept_in_two_layers():
    names = [path.stem for path in python_files(*PACKAGES) if path.stem != "__init__"]
    repeated = {name for name in names if names.count(name) > 1}
    assert repeated <= SHARED_MODULE_NAMES, repeated - SHARED_MODULE_NAMES
