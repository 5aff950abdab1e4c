"""The architecture docs/architecture.md describes, checked by reading the source (``ast``).

- the pure packages (statistics, optimisation) and the pure readers import nothing outside their
  list, even indirectly (every import counts, a lazy one inside a function too);
- no domain module (models, services, ...) imports the web or the CLI: only a domain's
  ``routes*.py`` and ``cli.py`` may;
- no module is over 600 lines and no function over 100, but for the allow-lists below, each with
  its reason;
- the modules do not import each other in a cycle at module level.

Nothing is imported to check this, so a broken module cannot hide a rule's breach.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "saferstreets"

#: third-party packages the pure core may use
SCIENCE = {"numpy", "scipy", "h3", "highspy", "sklearn", "polars"}
#: first-party modules the pure core may use: the error hierarchy and two vocabularies of plain
#: constants (police.uk offence groups and harm weights; the taxonomy of concerns)
PURE_SHARED = {
    "saferstreets",
    "saferstreets.errors",
    "saferstreets.progress",
    "saferstreets.crime",
    "saferstreets.crime.offences",
    "saferstreets.themes",
    "saferstreets.themes.taxonomy",
}
#: the pure packages and modules, and the third-party packages each may reach
PURE: dict[str, set[str]] = {
    "saferstreets.analysis": SCIENCE,
    # pyproj: the transverse Mercator projection of lon/lat to metres (coverage.project_lonlat)
    "saferstreets.optimisation": SCIENCE | {"pyproj"},
    # a plan computed from plain rows: the optimisation plus the pydantic PlanParams
    "saferstreets.planning.compute": SCIENCE | {"pydantic", "pyproj"},
    "saferstreets.planning.teams": SCIENCE | {"pydantic", "pyproj"},
    "saferstreets.planning.plandata": SCIENCE | {"pydantic", "pyproj"},
    "saferstreets.planning.params": {"pydantic"},
    "saferstreets.ingest.records": set(),
    "saferstreets.ingest.archives": set(),
    "saferstreets.progress": set(),
    "saferstreets.exports": set(),
    "saferstreets.crime.policeuk": {"polars", "numpy"},
    "saferstreets.surveys.reader": {"fastexcel"},
    "saferstreets.surveys.normalise": set(),
    "saferstreets.themes.classifier": SCIENCE,
    "saferstreets.themes.metrics": {"numpy"},
}
#: packages that are not domains (the adapters themselves, generated code, the demo builder)
NOT_DOMAINS = {"saferstreets.web", "saferstreets.cli", "saferstreets.migrations"}
#: code generated from the models (scripts/initial_migration.py): not held to the length rules
GENERATED = "saferstreets.migrations.versions"

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100

#: modules over 600 lines, and why they may be
LONG_MODULES: dict[str, str] = {
    "saferstreets.crime.service": "police.uk import and queries; to split like assessment/",
    "saferstreets.crime.policeuk": "the police.uk reader (street and outcomes files); to split",
    "saferstreets.areas.service": "boundary import and point lookup; to split",
    "saferstreets.surveys.suggest": "grew past 600 lines in parallel with this rule; to split",
}
#: functions over 100 lines, and why they may be
LONG_FUNCTIONS: dict[str, str] = {
    "saferstreets.demo.crime.write_crime": "the demo county's data, written out as a script",
    "saferstreets.demo.generator.write_boundaries": "the demo county's data, as a script",
    "saferstreets.demo.geography.build_county": "the demo county's data, as a script",
    "saferstreets.demo.reports.write_reports": "the demo county's data, as a script",
    "saferstreets.demo.survey._write_wave": "the demo county's data, as a script",
    "saferstreets.crime.policeuk.read_file": "to become named steps",
    "saferstreets.reports.service.import_reports": "to become named steps",
    "saferstreets.surveys.mapping.mapping_from_dict": "to become named steps",
    "saferstreets.surveys.service._store": "to become named steps",
    "saferstreets.surveys.suggest.suggest": "to become named steps",
    "saferstreets.optimisation.lagrangian.lagrangian": (
        "the volume algorithm's loop, kept whole to read beside Barahona & Anbil (2000)"
    ),
}
#: domain modules that import the web, and why they may
WEB_IN_DOMAINS: dict[str, str] = {}


#: domain command modules that still reach the CLI lazily (``from saferstreets.cli import ...``
#: inside each command) and add themselves with ``register()``
LAZY_CLI: dict[str, str] = {}


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    is_package: bool
    imports: set[str] = field(default_factory=set)  # every import, anywhere in the module
    top_imports: set[str] = field(default_factory=set)  # imports run when the module loads


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    base = base if module.is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _names(module: Module, node: ast.Import | ast.ImportFrom, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    target = _resolve(module, node)
    yield target
    for alias in node.names:  # ``from package import submodule``
        if f"{target}.{alias.name}" in known:
            yield f"{target}.{alias.name}"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module loads (not in functions, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)


def _with_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _load() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        name, is_package = _module_name(path)
        text = path.read_text(encoding="utf-8")
        modules[name] = Module(name, path, ast.parse(text), len(text.splitlines()), is_package)
    known = set(modules)
    for m in modules.values():
        for node in ast.walk(m.tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                m.imports.update(_names(m, node, known))
        for node in _top_level(m.tree.body):
            m.top_imports.update(_names(m, node, known))
    return modules


MODULES = _load()


def _first_party(names: set[str]) -> set[str]:
    """The first-party modules ``names`` load (a submodule loads its parent packages too)."""
    out: set[str] = set()
    for name in names:
        if name == ROOT or name.startswith(ROOT + "."):
            out |= {n for n in _with_parents(name) if n in MODULES}
    return out


def _reach(start: str) -> set[str]:
    """Every first-party module ``start`` can load, through any import, lazy ones too."""
    seen: set[str] = set()
    todo = [m for m in MODULES if m == start or m.startswith(start + ".")]
    todo += sorted(_with_parents(start) & set(MODULES))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_first_party(MODULES[name].imports) - seen)
    return seen


def _third_party(name: str) -> set[str]:
    tops = {i.split(".")[0] for i in MODULES[name].imports if i}
    return {t for t in tops if t != ROOT and t not in sys.stdlib_module_names and t != "__future__"}


def _in(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("pure", sorted(PURE))
def test_pure_packages_import_only_their_list_even_indirectly(pure: str) -> None:
    pure_modules = {m for m in MODULES for p in PURE if _in(m, p)}
    parents = {p for m in pure_modules for p in _with_parents(m) if p in MODULES}
    allowed_own = pure_modules | parents | PURE_SHARED
    reached = _reach(pure)
    strays = sorted(reached - allowed_own - _with_parents(pure))
    assert not strays, f"{pure} reaches {strays}"
    libraries: dict[str, list[str]] = {}
    for m in sorted(reached):
        for lib in _third_party(m):
            libraries.setdefault(lib, []).append(m)
    foreign = {lib: who for lib, who in libraries.items() if lib not in PURE[pure]}
    assert not foreign, f"{pure} imports {foreign}"


def test_the_pure_rule_would_catch_a_lazy_store_import() -> None:
    """The walk counts imports inside functions (the old planning.service hid its store there)."""
    tree = ast.parse("def f():\n    from saferstreets.db import session_scope\n")
    m = Module("saferstreets.analysis.fake", Path("fake.py"), tree, 2, False)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            m.imports.update(_names(m, node, set(MODULES)))
    assert "saferstreets.db" in _first_party(m.imports)
    assert not m.top_imports


def _hint_texts(tree: ast.AST) -> Iterator[str]:
    """The literal text of every ``hint=`` and ``field_errors=`` given to a call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in ("hint", "field_errors"):
                    for part in ast.walk(kw.value):
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            yield part.value


def test_pure_modules_give_no_cli_advice() -> None:
    """Errors from the pure core name the setting; the CLI adds ``--option`` advice itself."""
    core = list(PURE)
    advice = []
    for name, m in MODULES.items():
        if any(_in(name, p) for p in core):
            advice += [
                f"{name}: {t!r}" for t in _hint_texts(m.tree) if "--" in t or "saferstreets " in t
            ]
    assert not advice, "\n".join(advice)


def _is_adapter(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "cli" or last.startswith("routes")


def test_no_domain_imports_the_web_or_the_cli() -> None:
    breaches = []
    for name, m in MODULES.items():
        if name == ROOT or any(_in(name, p) for p in NOT_DOMAINS) or _is_adapter(name):
            continue
        if name in WEB_IN_DOMAINS:
            continue
        for imported in sorted(_first_party(m.imports)):
            if (
                _in(imported, "saferstreets.web")
                or _in(imported, "saferstreets.cli")
                or (_is_adapter(imported) and imported != name)
            ):
                breaches.append(f"{name} imports {imported}")
    assert not breaches, "\n".join(breaches)


def test_command_modules_import_the_cli_support_at_module_level() -> None:
    """A domain's ``cli.py`` imports ``saferstreets.cli.support`` when it loads, nothing else of
    the cli package, and the cli package's ``main`` wires it (no lazy import back)."""
    breaches = []
    for name, m in MODULES.items():
        if not name.endswith(".cli") or _in(name, "saferstreets.cli") or name in LAZY_CLI:
            continue
        cli_imports = {i for i in _first_party(m.imports) if _in(i, "saferstreets.cli")}
        lazy = cli_imports - _first_party(m.top_imports)
        if lazy or cli_imports - {"saferstreets.cli", "saferstreets.cli.support"}:
            breaches.append(f"{name}: {sorted(cli_imports)} (lazily: {sorted(lazy)})")
    assert not breaches, "\n".join(breaches)


def test_no_module_is_over_600_lines() -> None:
    long = {
        n: m.lines
        for n, m in MODULES.items()
        if m.lines > MAX_MODULE_LINES and not _in(n, GENERATED)
    }
    assert sorted(set(long) - set(LONG_MODULES)) == [], long
    # an entry that is no longer needed goes, so the list only shrinks
    assert sorted(set(LONG_MODULES) - set(long)) == []


def _functions() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, m in MODULES.items():
        if _in(name, GENERATED):
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                key = f"{name}.{node.name}"
                out[key] = max(out.get(key, 0), length)
    return out


def test_no_function_is_over_100_lines() -> None:
    long = {n: length for n, length in _functions().items() if length > MAX_FUNCTION_LINES}
    assert sorted(set(long) - set(LONG_FUNCTIONS)) == [], long
    assert sorted(set(LONG_FUNCTIONS) - set(long)) == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of the module-level import graph (Tarjan)."""
    graph = {n: sorted(_first_party(m.top_imports) - _with_parents(n)) for n, m in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_first_party_import_names_a_module() -> None:
    """A module moved without its importers updated fails here (mypy ignores missing imports)."""
    missing = sorted(
        f"{name} imports {imported}"
        for name, m in MODULES.items()
        for imported in m.imports
        if (imported == ROOT or imported.startswith(ROOT + ".")) and imported not in MODULES
    )
    assert not missing, "\n".join(missing)


def test_no_module_level_import_cycle() -> None:
    assert _cycles() == []


# --------------------------------------------------------------------------- progress


def _annotation(arg: ast.arg) -> str:
    return ast.unparse(arg.annotation) if arg.annotation else ""


def test_every_progress_parameter_is_the_one_progress_shape() -> None:
    """A ``progress`` parameter is :class:`saferstreets.progress.Progress` (or None) everywhere."""
    odd: dict[str, str] = {}
    for name, m in MODULES.items():
        for node in ast.walk(m.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                    hint = _annotation(arg)
                    if arg.arg == "progress" and hint not in {"Progress", "Progress | None"}:
                        odd[f"{name}.{node.name}"] = hint
    assert odd == {}
    declared = set()
    for name, m in MODULES.items():
        for node in ast.walk(m.tree):
            targets = (
                [node.name]
                if isinstance(node, ast.ClassDef)
                else [t.id for t in node.targets if isinstance(t, ast.Name)]
                if isinstance(node, ast.Assign)
                else []
            )
            declared |= {f"{name}.{t}" for t in targets if t == "Progress"}
    assert declared == {"saferstreets.progress.Progress"}
