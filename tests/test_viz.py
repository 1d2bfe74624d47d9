"""minigrad.viz: DOT text checked structurally; a real SVG when Graphviz is installed."""

import re
import shutil
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz import draw_graph, to_dot

_NODE = re.compile(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
_EDGE = re.compile(r"^\s+(\w+) -> (\w+)(?: \[label=\"(\d+)\"\])?;$")


def parse(dot: str):
    """{id: (label lines, attrs)}, [(src, dst, input index or None)] of a to_dot result."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph minigrad {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := _NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            text = re.sub(r"\\(.)", lambda c: "\n" if c.group(1) == "n" else c.group(1), m.group(2))
            nodes[m.group(1)] = (text.split("\n"), m.group(3))
        elif m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2), None if m.group(3) is None else int(m.group(3))))
    for s, d, _ in edges:
        assert s in nodes and d in nodes, f"edge {s}->{d} to an undeclared node"
    return nodes, edges


def find(nodes, first_line):
    hits = [k for k, (lab, _) in nodes.items() if lab[0] == first_line]
    assert len(hits) == 1, (first_line, nodes)
    return hits[0]


def test_structure_of_small_expression():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor(3.0, requires_grad=True)
    e = a * b
    c = (e + a).sum()
    c.backward()
    nodes, edges = parse(to_dot(c, names={"a": a, "b": b, "e": e}))
    ops = {k: lab[0] for k, (lab, _) in nodes.items() if "ellipse" in nodes[k][1]}
    assert sorted(ops.values()) == ["AddBackward0", "MulBackward0", "SumBackward0"]
    tensors = [k for k in nodes if k not in ops]
    assert len(tensors) == 5  # a, b, e, e + a, c
    ka, kb, ke = find(nodes, "a"), find(nodes, "b"), find(nodes, "e")
    mul = next(k for k, v in ops.items() if v == "MulBackward0")
    add = next(k for k, v in ops.items() if v == "AddBackward0")
    sm = next(k for k, v in ops.items() if v == "SumBackward0")
    es = set(edges)
    assert {(ka, mul, 0), (kb, mul, 1), (mul, ke, None), (ke, add, 0), (ka, add, 1)} <= es
    (s_in,) = [s for s, d, _ in edges if d == sm]
    (s_out,) = [d for s, d, _ in edges if s == sm]
    assert (add, s_in, None) in es
    assert len(edges) == 8
    # Each op has exactly one output; each tensor at most one producer.
    for k in ops:
        assert sum(1 for s, _, _ in edges if s == k) == 1
    # Values and gradients: a.grad = b + 1 = 4, b.grad = sum(a) = 3, e.grad = 1.
    assert nodes[ka][0] == ["a", "(2,) float32", "value [1., 2.]", "grad [4., 4.]"]
    assert nodes[kb][0] == ["b", "() float32", "value 3", "grad 3"]
    assert "grad [1., 1.]" in nodes[ke][0]
    assert nodes[s_out][0][:2] == ["() float32", "value 12"]
    assert "bold" in nodes[s_out][1]  # the root is highlighted


def test_flags_hide_values_and_grads_and_large_tensors_elided():
    x = mg.ones(3, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    nodes, _ = parse(to_dot(y, show_values=False, show_grad=False))
    assert not any(r.startswith(("value", "grad")) for lab, _ in nodes.values() for r in lab)
    big = mg.ones(100, requires_grad=True)
    z = big.sum()
    z.backward()
    nodes, _ = parse(to_dot(z, max_values=8))
    kbig = find(nodes, "(100,) float32")
    assert nodes[kbig][0] == ["(100,) float32"]


def test_released_intermediate_keeps_shape_and_constant_shown():
    x = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = ((x * mg.tensor([2.0, 2.0, 2.0])).exp() + 1.0).mean()  # intermediates are not held
    nodes, edges = parse(to_dot(y))
    released = [lab for lab, _ in nodes.values() if "released" in lab]
    assert len(released) == 3 and all(lab[0] == "(1, 3) float32" for lab in released)
    # ExpBackward0 saved its output: the released box still shows the value.
    assert any(lab[-1].startswith("value [[") for lab in released)
    consts = [lab for lab, _ in nodes.values() if "constant" in lab]
    assert sorted(c[0] for c in consts) == ["() float32", "(3,) float32"]  # the number 1.0, the tensor
    assert ["(3,) float32", "constant", "value [2., 2., 2.]"] in consts  # mul saved it


def test_leaf_alone_and_shared_subexpression():
    x = mg.tensor(2.0, requires_grad=True)
    nodes, edges = parse(to_dot(x))
    assert len(nodes) == 1 and edges == []
    y = x * x
    z = y + y
    nodes, edges = parse(to_dot(z))
    assert len(nodes) == 5  # x, MulBackward0, y, AddBackward0, z
    assert sum(1 for s, d, i in edges if i is not None) == 4  # both ops get both inputs labelled


def test_deep_chain_is_iterative():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    nodes, edges = parse(to_dot(y, show_values=False))
    assert len(nodes) == 1 + 2 * 5000 + 5000  # x, op + output per step, a constant per step
    assert len(edges) == 3 * 5000


def test_in_place_and_escaping():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.mul_(3)
    nodes, _ = parse(to_dot(b.sum(), names={'we"ird\\name': a}))
    assert any("overwritten in place" in lab for lab, _ in nodes.values())
    assert any(lab[0] == 'we"ird\\name' for lab, _ in nodes.values())


def test_bad_arguments():
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        to_dot(np.ones(3))
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(mg.ones(1), rankdir="XY")
    with pytest.raises(TypeError, match="names"):
        to_dot(mg.ones(1), names={"w": np.ones(2)})


def test_draw_graph_missing_python_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw_graph(mg.ones(1))


def test_draw_graph_missing_dot_binary(monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="`dot` program was not found"):
        draw_graph(mg.ones(1))


def test_draw_graph_renders_svg():
    graphviz = pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    a = mg.tensor([1.0, -2.0], requires_grad=True)
    b = mg.tensor(0.5, requires_grad=True)
    c = (a * b).tanh().sum()
    c.backward()
    src = draw_graph(c, names={"a": a, "b": b})
    assert isinstance(src, graphviz.Source)
    svg = src.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("TanhBackward0", "MulBackward0", "SumBackward0", "a", "value 0.5"):
        assert f">{text}<" in svg, text
    # Jupyter shows it inline through the SVG mimebundle.
    assert "image/svg+xml" in src._repr_mimebundle_()


def test_many_kinds_of_ops_before_and_after_backward():
    mg.manual_seed(0)
    x = mg.randn(2, 3, 4, requires_grad=True)
    y = (x * 2).relu()[:, :, ::2]
    z = mg.cat([y.flatten(1), y.flatten(1)[:, :5] * 2], dim=1)
    w = mg.stack([z, z.flip(1)]).sum(0)
    v = mg.where(w > 0, w, w * 0.1)
    e = mg.einsum("ij,ij->i", v, v)
    b = e[mg.tensor([0, 1, 1])].clone()
    b[0] = 5.0  # recorded in-place write on a non-leaf
    out = b.logsumexp(0) + v.softmax(dim=1).max()
    for when in ("before", "after"):
        nodes, edges = parse(to_dot(out, names={"x": x}, max_values=100))
        ops = [k for k, (_, attrs) in nodes.items() if "ellipse" in attrs]
        assert len(ops) >= 15, when
        for k in ops:  # every op has exactly one output and at least one input
            assert sum(1 for s, _, _ in edges if s == k) == 1, (when, nodes[k])
            assert any(d == k for _, d, _ in edges), (when, nodes[k])
        leaf = find(nodes, "x")
        assert any(lab.startswith("grad") for lab in nodes[leaf][0]) == (when == "after")
        if when == "before":
            out.backward()


def test_keep_intermediates_shows_every_node_of_the_readme_snippet():
    from minigrad.viz import keep_intermediates

    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(-3.0, requires_grad=True)
    with keep_intermediates():
        L = (a * b + a).tanh()
    L.backward()
    nodes, edges = parse(to_dot(L, names={"a": a, "b": b}))
    boxes = [lab for lab, attrs in nodes.items() if "box" in attrs[1]]
    assert len(boxes) == 5  # a, b, a * b, a * b + a, L
    ab, s = -6.0, -4.0
    dL = 1 - np.tanh(s) ** 2  # d L / d(a*b + a) = d L / d(a*b)
    for k in boxes:
        lab = nodes[k][0]
        assert "released" not in lab
        assert any(r.startswith("value ") for r in lab) and any(r.startswith("grad ") for r in lab), lab
    values = sorted(float(r[6:]) for k in boxes for r in nodes[k][0] if r.startswith("value "))
    assert values == pytest.approx(sorted([2.0, -3.0, ab, s, np.tanh(s)]), rel=1e-3)
    grads = sorted(float(r[5:]) for k in boxes for r in nodes[k][0] if r.startswith("grad "))
    assert grads == pytest.approx(sorted([dL * (-3.0 + 1.0), dL * 2.0, dL, dL, 1.0]), rel=1e-3)


def test_keep_intermediates_is_scoped_and_frees_with_the_result():
    import gc
    import weakref

    from minigrad.autograd.graph import _state
    from minigrad.viz import keep_intermediates

    a = mg.tensor([1.0, 2.0], requires_grad=True)
    with keep_intermediates():
        assert _state.keep
        with keep_intermediates(False):
            assert not _state.keep
            y = (a * 2).exp().sum()  # recorded as usual: the intermediates are released
        assert _state.keep
        z = (a * 2).exp().sum()
    assert not _state.keep
    assert "released" in to_dot(y)
    assert "released" not in to_dot(z)
    inner = weakref.ref(z.grad_fn.kept[0][0])
    gc.disable()  # freed by reference counting alone: no cycle through the kept tensors
    try:
        del z
        assert inner() is None
    finally:
        gc.enable()
    y.backward()  # ordinary training is unaffected
    assert a.grad is not None
    # A plain call switches it on for this thread until switched off.
    keep_intermediates()
    try:
        w = (a + 1).sum()
        assert "released" not in to_dot(w)
    finally:
        keep_intermediates(False)
    assert not _state.keep
