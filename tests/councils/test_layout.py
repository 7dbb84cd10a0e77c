"""The councils package keeps its files in layers: small files, no import circle between them,
and no import inside a function (the way the events/operations circle used to be dodged)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "councils"


def _trees() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.glob("*.py"))}


def _imported_files(tree: ast.Module) -> set[str]:
    """The package's own files a module imports (`from .x import`, `from . import x`, `from councils.x`)."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
        elif node.level == 1:
            found.update(alias.name for alias in node.names)
        elif node.module and node.module.startswith("councils."):
            found.add(node.module.split(".")[1])
    return found


def test_no_file_is_longer_than_six_hundred_lines():
    assert {path.name: n for path in PACKAGE.glob("*.py")
            if (n := len(path.read_text().splitlines())) > 600} == {}


def test_no_import_inside_a_function():
    nested = [f"{name}.{node.name}" for name, tree in _trees().items() for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and any(isinstance(inner, (ast.Import, ast.ImportFrom)) for inner in ast.walk(node))]
    assert nested == []


def test_no_import_circle_between_the_files():
    trees = _trees()
    graph = {name: _imported_files(tree) & set(trees) - {name} for name, tree in trees.items()}
    done, path = set(), []

    def walk(name):
        assert name not in path, f"import circle: {' → '.join(path[path.index(name):] + [name])}"
        if name in done:
            return
        path.append(name)
        for imported in sorted(graph[name]):
            walk(imported)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        walk(name)
    # The layers the split set up: the rules' lowest files import no rule file above them.
    assert graph["models"] == set() and graph["terms"] == {"models"} and graph["events"] <= {"models", "terms"}
