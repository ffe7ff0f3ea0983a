"""The layers hold: imports flow api -> registry -> crypto, and no modules import each other.

Read from the source, every import statement counted (those inside functions too), so a
shortcut taken anywhere shows here rather than in a reviewer's memory.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("api", "registry", "crypto")  # each may import only those after it


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    modules = {
        _module_name(path): path for layer in LAYERS for path in (ROOT / layer).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m.split(".")[0] in LAYERS and m != name}
    return graph


GRAPH = _import_graph()


def test_the_tree_was_read():
    assert {"api", "registry.custody.batches", "crypto.merkle"} <= set(GRAPH)


def test_imports_flow_from_api_to_registry_to_crypto():
    backwards = [
        (module, imported)
        for module, imports in GRAPH.items()
        for imported in imports
        if LAYERS.index(imported.split(".")[0]) < LAYERS.index(module.split(".")[0])
    ]
    assert not backwards, f"imports against the layers: {backwards}"


def test_no_modules_import_each_other():
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(GRAPH.get(module, ())):
            if state.get(imported) == "open":
                cycles.append([*path[path.index(imported) :], imported])
            elif imported in GRAPH and imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, f"import cycles: {cycles}"
