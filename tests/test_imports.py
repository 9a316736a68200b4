"""No import cycles between the modules of ``capacity/``.

The import graph is read from the source with :mod:`ast`, without importing anything:

* every ``import capacity.x`` and ``from capacity.x import y`` counts, wherever it is: at
  module level, inside functions and methods (imported lazily, they still run), and inside
  ``if TYPE_CHECKING:`` blocks (type-only imports tie the modules together for readers and
  type checkers, so they must respect the layering too);
* ``from capacity.x import y`` where ``capacity.x.y`` is a module counts as an import of
  that module; relative imports are resolved against the importing module;
* importing ``capacity.x.y`` from outside the package ``capacity.x`` also imports
  ``capacity.x`` (its ``__init__`` runs first), so that edge is added; a module inside a
  package does not get an edge to its own parent package (the parent is always imported
  first);
* ``importlib.import_module`` with a computed name is not seen (only ``capacity/__init__``
  and ``capacity/plot/__init__`` use it, for lazy attributes).

Cycles entirely inside ``capacity/io`` belong to the I/O package, which is being
rewritten elsewhere; they are listed by :func:`test_io_has_no_import_cycles`, marked as an
expected failure, not left out silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "capacity"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str, mods: dict[str, Path]) -> bool:
    return mods[name].name == "__init__.py"


def imports_of(name: str, mods: dict[str, Path]) -> set[str]:
    """The ``capacity`` modules that module ``name`` imports (see the module docstring)."""
    tree = ast.parse(mods[name].read_text(encoding="utf-8"))
    package = name if _is_package(name, mods) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module]
            targets += [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in mods]
        for target in targets:
            if target != "capacity" and not target.startswith("capacity."):
                continue
            while target and target not in mods:  # `import capacity.x.y` of a name inside a module
                target = target.rpartition(".")[0]
            if not target or name.startswith(target + "."):  # its own package: already imported
                continue
            found.add(target)
            parent = target.rpartition(".")[0]
            while parent and parent != "capacity" and not (name == parent or name.startswith(parent + ".")):
                found.add(parent)
                parent = parent.rpartition(".")[0]
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    """The import graph of the package: module -> modules it imports."""
    mods = modules()
    return {name: imports_of(name, mods) for name in mods}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def _in_io(component: list[str]) -> bool:
    return all(m == "capacity.io" or m.startswith("capacity.io.") for m in component)


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    g = graph()
    assert "capacity.plot" in g["capacity.api"]  # imported inside Results.plot
    assert "capacity.results.result" in g["capacity.plot.common"]  # imported under TYPE_CHECKING
    assert "capacity.results" in g["capacity.plot.common"]  # its package's __init__ runs first
    assert "capacity.plot" not in g["capacity.plot.maps"]  # a module's own package is already imported


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    found = [c for c in cycles(graph()) if not _in_io(c)]
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_io_has_no_import_cycles() -> None:
    found = [c for c in cycles(graph()) if _in_io(c)]
    assert found == [], "import cycles in capacity/io: " + "; ".join(" <-> ".join(c) for c in found)


# --- the plan stays in capacity/plan.py ------------------------------------------------

GENERAL = ["capacity/results", "capacity/plot", "capacity/api.py", "capacity/cli.py", "capacity/cli_plot.py",
           "capacity/report.py", "capacity/export.py", "capacity/explanation.py", "capacity/plan.py"]
DISTRICT_WORDS = ("kindergarten", "junior secondary", "senior secondary", "haizhu", "five-year")


def _constants(path: Path) -> list[tuple[int, object]]:
    """Constants of a module that are not docstrings, with their line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and id(node) not in docstrings]


def test_general_code_names_no_district_year_stage_or_plan() -> None:
    files = [p for entry in GENERAL for p in sorted((ROOT / entry).rglob("*.py") if (ROOT / entry).is_dir()
                                                    else [ROOT / entry])]
    found = []
    for path in files:
        for line, value in _constants(path):
            if isinstance(value, int) and not isinstance(value, bool) and 1990 <= value <= 2100:
                found.append(f"{path.relative_to(ROOT)}:{line}: year {value}")
            if isinstance(value, str) and any(w in value.lower() for w in DISTRICT_WORDS):
                if "haizhu" in value.lower() and "embedded" in value.lower():
                    continue  # help text naming the embedded default district
                found.append(f"{path.relative_to(ROOT)}:{line}: {value[:60]!r}")
    assert found == []
