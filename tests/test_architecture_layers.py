"""Floors: data flows one way (docs/ARCHITECTURE.md), so a module may import only its own floor or lower.

Every module of listener/, classifiers/, rules/ and alerts/ is read with `ast` (imports inside functions
and under TYPE_CHECKING count too, so do `importlib.import_module("x")` and a string that is exactly a
module's name, as in a list of modules to import later), mapped to a floor, and any import of a higher
floor fails unless ALLOWED names it with a reason.

Floors, from the bottom (a module takes the floor of its longest matching prefix in FLOORS):
 0 common         text folding, time, errors, the settings base: import nothing of Vigie
 1 understanding  the classifier stack (classifiers/): text -> labels; the pipeline calls it
 2 spine          models, store, pipeline, counters, sources, clock, metrics (listener/)
 3 detection      detectors over the stored counters, trending, the area tables' schema modules
 4 rules          rules/: signals -> alerts, crisis mode, posting policy
 5 alerts         alerts/: outbox -> channels, digest
 6 root           the composition root and the areas' adapters (set-up, web routes, CLI commands):
                  the only modules that may name several areas; nothing below imports them
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("listener", "classifiers", "rules", "alerts")

FLOORS: dict[str, int] = {
    # 0 common
    "listener.textfold": 0,
    "listener.timeutil": 0,
    "listener.errors": 0,
    "listener.settings_base": 0,
    "listener.french": 0,
    # 1 understanding (default for classifiers/)
    "classifiers": 1,
    # 2 spine (default for listener/)
    "listener": 2,
    # 3 detection
    "classifiers.detection": 3,  # spikes, shift, silence, newterms, trends, settings, service, trending
    "classifiers.schema": 3,  # a table in the store: sits above the store's Migration type
    # 4 rules, 5 alerts
    "rules": 4,
    "alerts": 5,
    # 6 root: composition root, host, settings composed of every area's section, CLI, web, adapters
    "listener.areas": 6,
    "listener.host": 6,
    "listener.manifest": 6,
    "listener.docs": 6,  # generates the reference docs from every area's settings, types and commands
    "listener.app": 6,
    "listener.settings": 6,
    "listener.cli": 6,
    "listener.auth.cli": 6,  # vigie users: a command of the root's CLI
    "listener.workspace": 6,  # the web workspace: reads every area's tables, acts through rules' posting queue
    "listener.auth.manifest": 6,
    "listener.web": 6,
    "listener.webui": 6,
    "listener.demo": 6,
    "listener.runner": 6,
    "listener.logging_setup": 6,
    "classifiers.detection.area": 6,  # the detection area's set-up in the daemon
    "listener.sources.ingest": 6,  # POST /api/ingest: web routes
    "classifiers.manifest": 6,
    "classifiers.cli": 6,
    "classifiers.train_cli": 6,
    "classifiers.detection.cli": 6,
    "rules.manifest": 6,
    "rules.extension": 6,
    "rules.cli": 6,
    "rules.crisis_cli": 6,
    "rules.incidents_cli": 6,
    "rules.posting_service": 6,
    "rules.demo": 6,  # the demo's settings overrides and posts (called by `vigie demo`)
    "alerts.manifest": 6,
    "alerts.extension": 6,
    "alerts.cli": 6,
    "alerts.interactions": 6,
}

# (importer, imported) -> why this upward import is accepted. Keep it short; every entry must still exist.
ALLOWED: dict[tuple[str, str], str] = {
    ("rules.routing", "alerts.outbox"): "rules queue notifications through alerts' outbox.enqueue: the documented "
                                        "rules -> alerts hand-over (one row per notification, channel, target)",
}


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return (f"{self.importer} (floor {floor_of(self.importer)}) imports {self.imported} "
                f"(floor {floor_of(self.imported)}) at line {self.line}")


def floor_of(module: str) -> int:
    """The floor of the longest FLOORS prefix matching `module` (a prefix matches whole dotted parts)."""
    best, floor = -1, None
    for prefix, value in FLOORS.items():
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
            best, floor = len(prefix), value
    if floor is None:
        raise KeyError(f"{module} has no floor: add its package or prefix to FLOORS")
    return floor


def is_ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def repo_modules(root: Path = REPO) -> dict[str, Path]:
    return {module_name(path, root): path for package in PACKAGES for path in sorted((root / package).rglob("*.py"))}


def imports_of(module: str, source: str, *, is_package: bool = False, known: frozenset[str] = frozenset()) -> list[Edge]:
    """Every Vigie module `source` imports, wherever the import statement is (module, function, class)."""
    package = module if is_package else module.rpartition(".")[0]
    edges: list[Edge] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            # `from rules import engine` imports the module rules.engine when it is one.
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A dotted module name in a string (import_module("rules.schema"), "rules.engine:RulesEngine" in
            # a list of things to import later) is an import too.
            named = node.value.partition(":")[0]
            if "." in named and named in known:
                targets = [named]
        edges.extend(Edge(module, target, node.lineno) for target in dict.fromkeys(targets)
                     if is_ours(target) and target != module)
    return edges


def upward(edges: list[Edge], allowed: dict[tuple[str, str], str] = ALLOWED) -> list[Edge]:
    return [edge for edge in edges if floor_of(edge.imported) > floor_of(edge.importer)
            and (edge.importer, edge.imported) not in allowed]


def all_edges(root: Path = REPO) -> list[Edge]:
    modules = repo_modules(root)
    known = frozenset(modules)
    edges: list[Edge] = []
    for name, path in modules.items():
        edges += imports_of(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py", known=known)
    return edges


# ------------------------------------------------------------------------------------------------- tests


def test_no_module_imports_a_higher_floor() -> None:
    violations = upward(all_edges())
    assert not violations, "upward imports (see the floors in this file's docstring):\n" + "\n".join(map(str, violations))


def test_every_allowed_exception_is_still_needed_and_explained() -> None:
    edges = {(edge.importer, edge.imported) for edge in all_edges()}
    for pair, reason in ALLOWED.items():
        assert pair in edges, f"{pair} no longer happens: remove it from ALLOWED"
        assert floor_of(pair[1]) > floor_of(pair[0]), f"{pair} is not upward: remove it from ALLOWED"
        assert len(reason.split()) >= 6, f"{pair}: say why in a sentence"
    assert len(ALLOWED) <= 5, "the allow-list is meant to stay short: fix the structure instead"


def test_every_module_has_a_floor() -> None:
    for name in repo_modules():
        floor_of(name)  # raises KeyError naming the module


def test_the_store_importing_the_rules_engine_fails() -> None:
    """What the test exists for: `from rules import engine` in a listener/store/ module is caught, at module
    level or inside a function."""
    known = frozenset(repo_modules())
    store_source = (REPO / "listener" / "store" / "store.py").read_text(encoding="utf-8")
    assert not upward(imports_of("listener.store.store", store_source, known=known))

    for addition in ("\nfrom rules import engine\n", "\ndef later():\n    from rules import engine\n    return engine\n",
                     "\nimport rules.engine\n", "\nimport importlib\nENGINE = importlib.import_module('rules.engine')\n",
                     "\nLATER = ['rules.engine']\n"):
        found = upward(imports_of("listener.store.store", store_source + addition, known=known))
        assert [(edge.importer, edge.imported) for edge in found] == [("listener.store.store", "rules.engine")], addition
        assert "floor 2" in str(found[0]) and "floor 4" in str(found[0])


def test_relative_imports_and_lower_floors_pass(tmp_path: Path) -> None:
    """A checker that flags everything would prove nothing: downward and same-floor imports are fine."""
    known = frozenset(repo_modules())
    source = "from . import crisis\nfrom ..alerts import outbox\nfrom listener.store import Store\nimport listener.timeutil\n"
    edges = imports_of("rules.engine", source, known=known)
    assert {edge.imported for edge in edges} == {"rules.crisis", "alerts.outbox", "listener.store", "listener.timeutil"}
    assert [edge.imported for edge in upward(edges)] == ["alerts.outbox"]
    assert upward(imports_of("alerts.digest", "from rules import crisis\nfrom listener import trending\n", known=known)) == []
