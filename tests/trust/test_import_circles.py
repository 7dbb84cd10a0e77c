"""No import circle between the files of a module, and none dodged by an import inside a function:
when two files need each other, the shared part belongs in a third, lower file (STYLE.md).

Read from the source (ast), so a circle is found even where Python would happen to import it."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The modules whose files are checked; each other module joins the list once its circles are gone.
PACKAGES = ["pacts", "procurement"]


def _targets(node, package: str, files: set[str]) -> set[str]:
    """The files of `package` an import statement reads."""
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level == 1 or base == package or base.startswith(package + "."):
            inside = base[len(package) + 1:] if node.level == 0 else base
            if inside:
                return {inside.split(".")[0]} & files
            return {alias.name for alias in node.names} & files
    elif isinstance(node, ast.Import):
        return {alias.name.split(".")[1] for alias in node.names
                if alias.name.startswith(package + ".")} & files
    return set()


def _imports(package: str) -> tuple[dict, dict]:
    """For each file: the package's files it imports when loaded, and those it imports inside a function."""
    paths = {path.stem: path for path in (ROOT / package).glob("*.py") if path.stem != "__init__"}
    files = set(paths)
    loaded, deferred = {}, {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), str(path))
        inner = [node for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]
        every = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
        loaded[name] = set().union(*(_targets(n, package, files) for n in every if n not in inner)) - {name}
        deferred[name] = set().union(*(_targets(n, package, files) for n in inner)) - {name}
    return loaded, deferred


def _path(graph: dict, start: str, goal: str) -> list[str] | None:
    """A chain of imports from `start` to `goal`, if there is one."""
    seen, frontier = {start}, [[start]]
    while frontier:
        chain = frontier.pop()
        for following in sorted(graph.get(chain[-1], ())):
            if following == goal:
                return chain + [goal]
            if following not in seen:
                seen.add(following)
                frontier.append(chain + [following])
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_the_files_of_a_module_import_each_other_without_a_circle(package):
    loaded, deferred = _imports(package)
    assert loaded, package
    circles = [chain for name in loaded for first in loaded[name]
               if (chain := _path(loaded, first, name))]
    assert circles == [], [" → ".join([chain[-1], *chain]) for chain in circles]
    # An import inside a function that would close a circle if it were at the top is a dodged circle.
    dodged = [(name, target) for name, targets in deferred.items() for target in targets
              if target == name or _path(loaded, target, name)]
    assert dodged == [], dodged


def test_a_dodged_circle_is_found():
    """The check reads what it should: two files that import each other, one of them inside a function."""
    loaded = {"lifecycle": {"events"}, "events": set()}
    assert _path(loaded, "events", "lifecycle") is None
    assert _path(loaded, "lifecycle", "events") == ["lifecycle", "events"]
    tree = ast.parse("from . import reports\nfrom .lifecycle import move\nimport pacts.signing\n"
                     "from pacts import models\nfrom app import errors\n")
    found = set().union(*(_targets(n, "pacts", {"reports", "lifecycle", "signing", "models"}) for n in tree.body))
    assert found == {"reports", "lifecycle", "signing", "models"}
