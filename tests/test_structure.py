"""The layout DESIGN.md promises, checked from the source: import loops, the floors, the walk's size.

The import graph counts every import a module makes of another minigrad module, at module level
or inside a function (a late import is still a dependency), except those under
``if TYPE_CHECKING:`` (never run).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import minigrad
from minigrad.autograd import engine

PACKAGE = Path(minigrad.__file__).resolve().parent


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_of(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST):
    """Import statements anywhere in the tree, skipping ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path) -> tuple[set, set]:
    """(minigrad modules ``name`` imports at module level, those it imports inside functions)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    eager, late = set(), set()
    for node in _import_nodes(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        found = {t for t in targets if t in MODULES and t != name}
        (eager if id(node) in top_level else late).update(found)
    return eager, late


GRAPH = {}
LATE = {}
for _name, _path in MODULES.items():
    _eager, _late = _imports(_name, _path)
    GRAPH[_name] = _eager | _late
    LATE[_name] = _late


def _strongly_connected(graph: dict) -> list:
    """Tarjan's strongly connected components, iteratively."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_the_import_graph_is_read_right():
    # (so the checks below cannot pass vacuously)
    assert "minigrad.autograd.graph" in GRAPH["minigrad.autograd.engine"]
    assert "minigrad.tensor" in GRAPH["minigrad.autograd.engine"]
    loops = [c for c in _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) if len(c) > 1]
    assert loops == [{"a", "b", "c"}]


# The core: DESIGN.md's floors below the users of the core (nn, optim, data, sparse ... import it).
CORE = {name for name in GRAPH if name.startswith(("minigrad.autograd", "minigrad.ops.")) or name in {
    "minigrad.backend", "minigrad.runtime", "minigrad.dtypes", "minigrad.printing", "minigrad.tensor",
    "minigrad.random", "minigrad.factories"}}


# The loop the design allows: Tensor methods call the ops and the walk, whose VJPs and walk use Tensor.
TENSOR_AND_OPS = {name for name in GRAPH if name.startswith("minigrad.ops.")} | {
    "minigrad.tensor", "minigrad.autograd.engine"}


def test_the_only_import_loop_through_the_core_is_tensor_and_ops():
    # Over the whole package, so a module above the core that the core imports late (histogram.py,
    # sparse.py) closes a loop here too; function-level imports count (GRAPH holds them).
    assert "minigrad.ops.movement" in LATE["minigrad.ops.reduce"]  # (late imports are read)
    for loop in _strongly_connected(GRAPH):
        if len(loop) > 1 and loop & CORE:
            assert len(loop) <= 4 and loop <= TENSOR_AND_OPS, f"import loop of {len(loop)} files: {sorted(loop)}"


def test_attention_functional_and_linear_are_not_in_a_loop():
    for loop in _strongly_connected(GRAPH):
        nn = loop & {"minigrad.nn.attention", "minigrad.nn.functional", "minigrad.nn.linear"}
        assert len(nn) <= 1, sorted(loop)


def test_graph_is_the_ground_floor_of_the_autograd():
    assert GRAPH["minigrad.autograd.graph"] <= {"minigrad.backend"}


def test_ops_import_graph_and_never_the_walk():
    for name, deps in GRAPH.items():
        if name.startswith("minigrad.ops."):
            autograd = {d for d in deps if d.startswith("minigrad.autograd")}
            assert autograd <= {"minigrad.autograd.graph"}, f"{name} imports {sorted(autograd)}"
            assert "minigrad.tensor" not in deps, f"{name} imports the tensor module"


def test_the_walk_has_no_late_imports():
    assert not LATE["minigrad.autograd.engine"], sorted(LATE["minigrad.autograd.engine"])


def test_run_backward_fits_in_120_lines():
    lines, _ = inspect.getsourcelines(engine.run_backward)
    assert len(lines) <= 120, len(lines)
