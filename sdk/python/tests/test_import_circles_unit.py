"""The package's imports run one way: no module imports, even only for type checking, a module
that imports it back (directly or through others). A circle hides which module is the ground;
modules lower down name what they need of the ones above as a ``typing.Protocol`` (ports.py)."""
from __future__ import annotations

import ast
import shutil
import tempfile
import unittest
from pathlib import Path
from typing import Dict, List, Optional, Set

import support  # noqa: F401  (puts the SDK on sys.path)

PACKAGE_DIR = support.SDK_DIR / "headway"


def package_imports(package_dir: Path) -> Dict[str, Set[str]]:
    """Each module of the package (``__init__`` as the package itself) and the modules of the package
    it imports: every ``import``/``from … import`` anywhere in the file, ``if TYPE_CHECKING:`` blocks
    and function bodies included. ``from . import display`` imports the module ``display``;
    ``from . import Headway`` (a name, not a module) imports the package's ``__init__``."""
    package = package_dir.name
    modules = {path.stem for path in package_dir.glob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for path in sorted(package_dir.glob("*.py")):
        name = package if path.stem == "__init__" else f"{package}.{path.stem}"
        is_package = path.stem == "__init__"
        imported: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name.split(".")[0] == package)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(package, is_package, node.module, node.level)
                if base is None:
                    continue
                for alias in node.names:
                    child = alias.name
                    imported.add(f"{package}.{child}" if base == package and child in modules else base)
        graph[name] = {_module_of(target, package, modules) for target in imported} - {name}
    return graph


def _absolute(package: str, is_package: bool, module: Optional[str], level: int) -> Optional[str]:
    """The absolute name of a ``from`` import's module, if it is in the package (the package is one level deep)."""
    if level == 0:
        return module if module is not None and module.split(".")[0] == package else None
    if level > 1:
        return None  # above the package: not one of its modules
    return package if module is None else f"{package}.{module}"


def _module_of(target: str, package: str, modules: Set[str]) -> str:
    """A dotted target trimmed to one of the package's modules (``headway.job.Job`` → ``headway.job``)."""
    parts = target.split(".")
    return f"{package}.{parts[1]}" if len(parts) > 1 and parts[1] in modules else package


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The import circles, each once, as a path that starts and ends at its first module (by name)."""
    found: List[List[str]] = []
    seen: Set[frozenset] = set()

    def walk(path: List[str]) -> None:
        for target in sorted(graph.get(path[-1], ())):
            if target == path[0]:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    found.append(path + [target])
            elif target not in path and target > path[0]:
                walk(path + [target])

    for start in sorted(graph):
        walk([start])
    return found


def describe(found: List[List[str]]) -> str:
    return "; ".join(" → ".join(circle) for circle in found)


class ImportCircleTest(unittest.TestCase):
    def test_the_package_has_no_import_circle(self) -> None:
        graph = package_imports(PACKAGE_DIR)
        self.assertIn("headway.client", graph)  # the package was read, not an empty folder
        found = circles(graph)
        self.assertEqual(found, [], f"import circles in sdk/python/headway: {describe(found)}")

    def test_a_planted_circle_is_caught_and_named(self) -> None:
        # A copy of the package whose progress.py imports the client back, under TYPE_CHECKING only:
        # the client imports job, which imports progress.
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "headway"
            shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
            progress = copy / "progress.py"
            progress.write_text(progress.read_text(encoding="utf-8")
                                + "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .client import Headway\n",
                                encoding="utf-8")
            found = circles(package_imports(copy))
        self.assertIn("headway.progress → headway.client", describe(found))

    def test_reads_relative_and_absolute_imports(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            package = Path(tmp) / "pkg"
            package.mkdir()
            (package / "__init__.py").write_text("from .a import A\n", encoding="utf-8")
            (package / "a.py").write_text("from . import b\nA = 1\n", encoding="utf-8")
            (package / "b.py").write_text("def late():\n    import pkg.c\n", encoding="utf-8")
            (package / "c.py").write_text("from pkg.a import A\nfrom . import late_name\n", encoding="utf-8")
            graph = package_imports(package)
        self.assertEqual(graph, {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a", "pkg"}})
        self.assertEqual(circles(graph), [["pkg", "pkg.a", "pkg.b", "pkg.c", "pkg"], ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]])


if __name__ == "__main__":
    unittest.main()
