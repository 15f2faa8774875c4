"""The package's layout: layers import only the layers below them, and no cycles."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "breastnet"
#: Layers, lowest first: a module may import its own layer and the ones before it. `defaults` is one
#: module everything may read; `deploy` applies the study's models; `book` and `cli` are on top.
LAYERS = ("defaults", "data", "model", "train", "study", "deploy", "report", "book", "cli")
TOP = len(LAYERS)  # breastnet/__init__.py, breastnet/__main__.py


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else TOP


def imports_of(module: str) -> set[str]:
    """breastnet modules imported anywhere in `module` (function-local imports included)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found.update(n for n in names if n in MODULES)  # `from breastnet import report`
            if target in MODULES:
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
    found.discard(module)
    return found


def test_the_layers_are_the_subpackages():
    assert {m.split(".")[1] for m in MODULES if m.count(".") >= 1} >= set(LAYERS)
    top = {m for m in MODULES if m.count(".") == 1 and MODULES[m].name != "__init__.py"}
    assert top == {"breastnet.defaults", "breastnet.__main__"}, "a module outside the layers"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(module):
    upward = sorted(m for m in imports_of(module) if layer(m) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward}"


def test_no_import_cycle():
    graph = {m: imports_of(m) for m in MODULES}
    # A package's __init__ re-exporting its own modules is not a cycle.
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


@pytest.mark.slow
def test_each_module_imports_alone_in_a_fresh_interpreter():
    """Every module imports first, alone: no import order hides a cycle or a missing import."""
    failures = []
    for module in sorted(m for m in MODULES if m != "breastnet.__main__"):
        proc = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            timeout=300,
        )
        if proc.returncode:
            failures.append(f"{module}: {proc.stderr.strip().splitlines()[-1]}")
    assert not failures, "\n".join(failures)
