"""Issue 11, item 15: the code stays small and honest.

Before: routes read `current_app.extensions["facerec"]` in seven places, `storage/database.py`
was 711 lines of every area at once, and 13 definitions (a whole table among them) were kept
alive only by the tests that exercised them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from storage import Database

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "batch", "edge", "clients")
# Code that runs outside the tests: what keeps a definition alive.
CALLERS = (*PACKAGES, "benchmarks", "scripts")
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
    sizes = {path.name: len(path.read_text().splitlines()) for path in python_files("api/storage")}
    assert max(sizes.values()) <= MAX_STORAGE_MODULE_LINES, sizes
    areas = {cls.__module__.rsplit(".", 1)[-1] for cls in Database.__mro__[1:]}
    assert {"people", "recognitions", "training", "api_keys", "transactions"} <= areas


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
    """flask-restx resources are registered by their decorator, never named."""
    where, name = path_and_name
    source = (ROOT / where.split(":")[0]).read_text()
    return re.search(rf"@\w+\.route\([^\n]*\)\n(@[^\n]*\n)*class {name}\b", source) is not None


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
