"""The layers of design.md hold: no import runs back up.

    api/  ─┐
    amas/ ─┤   (amas/ is the composition root and may import every package)
           ↓
    actors/
           ↓
    events/    imports nothing of ours

Every import counts, also one inside a function: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("amas", "actors", "api", "events")
MAY_IMPORT: dict[str, frozenset[str]] = {
    "events": frozenset({"events"}),
    "actors": frozenset({"actors", "events"}),
    "api": frozenset({"api", "events"}),
    "amas": frozenset(OURS),
}
"""Which of our packages each package may import."""


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, a module under `root`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = path.relative_to(root).with_suffix("").parts
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                base = list(here[: len(here) - node.level])
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def back_up_imports(root: Path = ROOT) -> list[str]:
    """Every import that breaks MAY_IMPORT, as 'file:line imports module (why)'."""
    problems = []
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_modules(path, root):
                top = module.split(".")[0]
                if top in OURS and top not in MAY_IMPORT[package]:
                    allowed = ", ".join(sorted(MAY_IMPORT[package]))
                    problems.append(
                        f"{path.relative_to(root)}:{line} imports {module}"
                        f" ({package}/ may import only {allowed})"
                    )
    return problems


def test_no_import_runs_back_up_a_layer() -> None:
    assert back_up_imports() == []


def test_the_amas_package_root_imports_nothing_of_the_server() -> None:
    """amas/__init__.py stays light: the SDK (amas/sdk) must import without the server."""
    init = ROOT / "amas" / "__init__.py"
    assert [m for _, m in imported_modules(init) if m.split(".")[0] in OURS] == []


def test_the_check_names_an_import_that_runs_back_up(tmp_path: Path) -> None:
    for package in OURS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "events" / "store.py").write_text("import json\n\nfrom actors.fleet import Fleet\n")
    (tmp_path / "actors" / "fleet.py").write_text(
        "from events.store import x\nfrom ..api import y\n"
    )
    (tmp_path / "api" / "routes.py").write_text("def f():\n    from amas.runtime import node\n")
    (tmp_path / "amas" / "cli.py").write_text("import actors, api, events\n")
    assert back_up_imports(tmp_path) == [
        "actors/fleet.py:2 imports api (actors/ may import only actors, events)",
        "api/routes.py:2 imports amas.runtime (api/ may import only api, events)",
        "events/store.py:3 imports actors.fleet (events/ may import only events)",
    ]
