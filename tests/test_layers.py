"""The import direction web -> node -> federation, storage, and that our packages are ours."""

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
ALLOWED = {
    "web": {"node", "federation"},
    "node": {"federation", "storage"},
    "federation": set(),
    "storage": set(),
}


def imported_top_levels(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_back_edges(package: str) -> None:
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        for name in imported_top_levels(path) & set(ALLOWED):
            if name != package and name not in ALLOWED[package]:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert offenders == []


def test_layer_check_catches_a_back_edge(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from web.app import create_app\nimport storage.models\n")
    assert imported_top_levels(bad) == {"web", "storage"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_resolves_inside_the_repository(package: str) -> None:
    # PyPI has unrelated packages called node, web, storage and federation.
    module = __import__(package)
    assert module.__file__ is not None
    assert pathlib.Path(module.__file__).resolve().parent == REPO / package
