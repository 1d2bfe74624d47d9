"""Draw the computation graph behind a tensor.

``to_dot(t)`` returns the graph in Graphviz's DOT language as plain text (no
dependency); ``draw_graph(t)`` wraps it in a ``graphviz.Source`` that renders
inline in Jupyter as SVG (needs the optional ``graphviz`` package and its ``dot``
program).

What the picture shows, as data flows::

    [a  (2,)]  --0-->  (MulBackward0)  -->  [(2,)]  -->  (SumBackward0)  -->  [c  ()]
    [b  ()  ]  --1-->

Boxes are tensors (shape, dtype, and value and gradient when small), ellipses
are recorded ops named by their ``grad_fn`` (``MulBackward0``), and a small
number on an edge tells which input of the op it feeds. Dashed grey boxes are
constants (inputs that need no gradient).

**Every node, values and gradients included**: record the forward pass inside
``keep_intermediates()``; each recorded op then holds its inputs' tensors, so
``a * b`` in ``(a * b + a).tanh()`` stays alive (as long as the result does) and
gets its ``.grad`` from ``backward()``::

    with keep_intermediates():
        L = (a * b + a).tanh()
    L.backward()
    draw_graph(L)        # all five boxes show value and grad

**"released"**: outside ``keep_intermediates()`` minigrad frees an intermediate
tensor as soon as nothing refers to it (its ``grad_fn`` node only holds a weak
reference), exactly as ordinary training needs. Such a box is drawn dashed and
marked ``released``: it keeps its shape, and its value when the op saved it for
backward, but it never received a ``.grad`` (there was no tensor to hold it).
Bind the intermediate to a variable, or use ``keep_intermediates()``, to see it.

The walk follows ``grad_fn`` -> ``Node.parents`` iteratively, like backward
itself, so a graph of any depth can be drawn.
"""

from __future__ import annotations

import shutil

import numpy as np

from .autograd.graph import Node, _state
from .tensor import Tensor

__all__ = ["to_dot", "draw_graph", "keep_intermediates"]


class keep_intermediates:
    """Keep every intermediate tensor of the graphs recorded from now on, for drawing.

    Ordinary recording frees an intermediate tensor (``a * b`` in ``(a * b + a).tanh()``)
    as soon as nothing refers to it, so a drawing made after ``backward()`` shows it as
    *released*, without value or gradient. Under ``keep_intermediates()`` each recorded
    op holds the tensors it was given, so every intermediate lives as long as the result
    does, receives its ``.grad`` from ``backward()``, and ``draw_graph`` shows its value and
    gradient. Nothing else changes; the tensors are freed (by reference counting) with the
    result. Like ``set_grad_enabled``, it takes effect when called and, used as a context
    manager, restores the previous setting at the end of the block. The setting is per
    thread. Leave it off for training: it keeps every activation of every step alive for
    as long as the loss is.

    Args:
        mode: True to keep intermediates, False to free them as usual.

    Examples:
        >>> import minigrad as mg
        >>> from minigrad.viz import keep_intermediates, to_dot
        >>> a = mg.tensor(2.0, requires_grad=True)
        >>> b = mg.tensor(-3.0, requires_grad=True)
        >>> with keep_intermediates():
        ...     L = (a * b + a).tanh()
        >>> L.backward()
        >>> "released" in to_dot(L)
        False
        >>> L.grad_fn.kept[0][0].grad    # d L / d(a * b + a), held by the tanh node
        tensor(0.0013)
    """

    def __init__(self, mode: bool = True) -> None:
        self._prev = _state.keep
        _state.keep = mode

    def __enter__(self) -> keep_intermediates:
        return self

    def __exit__(self, *exc) -> bool:
        _state.keep = self._prev
        return False

_GRAPHVIZ_HINT = (
    "pip install graphviz  (or: pip install 'minigrad[viz]'), plus Graphviz's `dot` program: "
    "apt-get install graphviz / brew install graphviz / conda install graphviz"
)


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _fmt_array(arr, max_values: int) -> str | None:
    """Short text of ``arr``, or None when it has more than ``max_values`` elements."""
    arr = np.asarray(arr)
    if arr.size > max_values:
        return None
    if arr.ndim == 0:
        v = arr.item()
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return np.array2string(arr, precision=4, separator=", ", suppress_small=True, max_line_width=60)


class _Builder:
    """Collects DOT lines; gives every tensor and op a stable id of its own."""

    def __init__(self, show_values: bool, show_grad: bool, max_values: int, names: dict):
        self.show_values = show_values
        self.show_grad = show_grad
        self.max_values = max_values
        self.names = names
        self.lines: list[str] = []
        self.ids: dict[int, str] = {}
        self.keep: list = []  # holds every object we give an id, so no id() is reused mid-walk

    def ident(self, obj, prefix: str) -> tuple[str, bool]:
        """(DOT id of ``obj``, whether it is new)."""
        key = id(obj)
        if key in self.ids:
            return self.ids[key], False
        name = f"{prefix}{len(self.ids)}"
        self.ids[key] = name
        self.keep.append(obj)
        return name, True

    def tensor_label(self, t: Tensor | None, shape, dtype, saved_value=None, note: str | None = None) -> str:
        rows = []
        if t is not None and id(t) in self.names:
            rows.append(self.names[id(t)])
        head = _fmt_shape(shape) if shape is not None else "shape ?"
        if dtype is not None:
            head += f" {np.dtype(dtype).name}"
        rows.append(head)
        if note:
            rows.append(note)
        if self.show_values:
            value = t._data if t is not None else saved_value
            if value is not None:
                text = _fmt_array(value, self.max_values)
                if text is not None:
                    rows.append("value " + text)
        if self.show_grad and t is not None and t.grad is not None:
            text = _fmt_array(t.grad._data, self.max_values)
            if text is not None:
                rows.append("grad " + text)
        return "\n".join(rows)

    def tensor_node(self, dot_id: str, label: str, *, root: bool = False, leaf: bool = False,
                    constant: bool = False, released: bool = False) -> None:
        attrs = [f"label={_quote(label)}", "shape=box"]
        if constant:
            attrs.append('style="dashed" color="grey50" fontcolor="grey35"')
        elif root:
            attrs.append('style="filled,bold" fillcolor="#c6e2ff"')
        elif leaf:
            attrs.append('style="filled" fillcolor="#d8f0c8"')
        elif released:
            attrs.append('style="dashed"')
        self.lines.append(f"  {dot_id} [{' '.join(attrs)}];")


def to_dot(tensor: Tensor, show_values: bool = True, show_grad: bool = True, *, max_values: int = 8,
           names: dict | None = None, rankdir: str = "LR") -> str:
    """The graph that produced ``tensor``, as Graphviz DOT text.

    One box per tensor (its shape and dtype; value and ``.grad`` when it has at
    most ``max_values`` elements), one ellipse per recorded op (its ``grad_fn``
    name), edges from inputs to op to output. ``names`` maps labels to tensors
    (e.g. ``dict(model.named_parameters())``) to show those names on their boxes.
    ``rankdir`` is Graphviz's layout direction: ``"LR"`` (left to right) or ``"TB"``.

    An intermediate tensor that nothing referred to any more is drawn dashed and marked
    ``released`` (its shape, and its value when its op saved it, but no gradient); record
    the forward pass under ``keep_intermediates()`` to keep every intermediate for the
    drawing.

    Args:
        tensor: the tensor whose graph to draw (usually the loss).
        show_values: write each small tensor's value in its box.
        show_grad: write each small tensor's ``.grad`` in its box.
        max_values: tensors with more elements show only shape and dtype.
        names: ``{label: tensor}`` to name boxes.
        rankdir: Graphviz layout direction.

    Returns:
        str: the DOT source.

    Examples:
        >>> import minigrad as mg
        >>> from minigrad.viz import to_dot
        >>> x = mg.tensor(3.0, requires_grad=True)
        >>> y = x * x
        >>> y.backward()
        >>> print(to_dot(y, names={"x": x}))  # doctest: +ELLIPSIS
        digraph minigrad {
          rankdir=LR;
        ...
          op0 [label="MulBackward0" shape=ellipse style=filled fillcolor="#fff2b3"];
          t1 [label="() float32\\nvalue 9\\ngrad 1" shape=box style="filled,bold" fillcolor="#c6e2ff"];
          t2 [label="x\\n() float32\\nvalue 3\\ngrad 6" shape=box style="filled" fillcolor="#d8f0c8"];
          op0 -> t1;
          t2 -> op0 [label="0"];
          t2 -> op0 [label="1"];
        }
        <BLANKLINE>
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"to_dot: rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
    name_of = {}
    for label, t in (names or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: names[{label!r}] is a {type(t).__name__}, not a Tensor")
        name_of[id(t)] = str(label)
    b = _Builder(show_values, show_grad, max_values, name_of)
    b.keep.append(names)
    header = ["digraph minigrad {", f"  rankdir={rankdir};",
              '  node [fontname="Helvetica" fontsize=10];', '  edge [fontname="Helvetica" fontsize=8];']

    if tensor.grad_fn is None:
        tid, _ = b.ident(tensor, "t")
        b.tensor_node(tid, b.tensor_label(tensor, tensor.shape, tensor.dtype), root=True, leaf=tensor._rg)
        return "\n".join(header + b.lines + ["}"]) + "\n"

    root = tensor.grad_fn
    order = _consumers_first(root)

    out_shape: dict[int, tuple] = {id(root): (tuple(tensor.shape), tensor.dtype)}
    out_id: dict[int, str] = {}  # id(node) -> DOT id of the tensor it made
    edges: list[str] = []
    for node in order:
        op_id, _ = b.ident(node, "op")
        b.lines.append(f"  {op_id} [label={_quote(node.name())} shape=ellipse style=filled fillcolor=\"#fff2b3\"];")
        # Its output tensor: alive, overwritten in place, or released.
        t = node.out_ref() if node.out_ref is not None else None
        shape, dtype = out_shape.get(id(node), (None, None))
        if node is root:
            t = tensor
        if t is not None and t.grad_fn is node:
            tid, _ = b.ident(t, "t")
            b.tensor_node(tid, b.tensor_label(t, t.shape, t.dtype), root=node is root)
        else:
            tid, _ = b.ident(("out", node), "t")
            note = "overwritten in place" if t is not None else "released"
            if t is not None and shape is None:
                shape, dtype = tuple(t.shape), t.dtype
            b.tensor_node(tid, b.tensor_label(None, shape, dtype, saved_value=node.out, note=note), released=True)
        out_id[id(node)] = tid
        edges.append(f"  {op_id} -> {tid};")
        shape, dtype = (tuple(t.shape), t.dtype) if t is not None else (shape, dtype)

        many = len(node.parents) > 1
        for i, p in enumerate(node.parents):
            in_shape = node.in_meta[i] if node.in_meta is not None and node.in_meta[i] is not None \
                else (shape, dtype)
            if p.__class__ is Node:
                out_shape.setdefault(id(p), in_shape)
                src = None  # filled below, once p's output box exists
            elif p is None:
                src = _constant_input(b, node, i, in_shape)
            else:  # a leaf tensor that requires grad
                src, new = b.ident(p, "t")
                if new:
                    b.tensor_node(src, b.tensor_label(p, p.shape, p.dtype), leaf=True)
            attr = f" [label={_quote(str(i))}]" if many else ""
            edges.append((p, src, op_id, attr))

    lines = []
    for e in edges:
        if isinstance(e, str):
            lines.append(e)
            continue
        p, src, op_id, attr = e
        if src is None:
            src = out_id[id(p)]
        lines.append(f"  {src} -> {op_id}{attr};")
    return "\n".join(header + b.lines + lines + ["}"]) + "\n"



def _consumers_first(root) -> list:
    """The nodes of ``root``'s graph, each after all its consumers (Kahn order over consumer
    counts), so the shape of a released output is known from a consumer before its node is drawn."""
    consumers: dict[int, int] = {}
    stack = [root]
    seen = {id(root)}
    while stack:
        node = stack.pop()
        for p in node.parents:
            if p.__class__ is Node:
                consumers[id(p)] = consumers.get(id(p), 0) + 1
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append(p)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for p in node.parents:
            if p.__class__ is Node:
                consumers[id(p)] -= 1
                if consumers[id(p)] == 0:
                    ready.append(p)
    return order


def _constant_input(b, node, i: int, in_shape: tuple) -> str:
    """The box of ``node``'s input ``i`` that needs no gradient (a constant); its DOT id."""
    # The saved inputs; after backward, the copy keep_intermediates() held (if any).
    inputs = node.inputs or (getattr(node, "kept", None) or ((), None))[1]
    saved = inputs[i] if inputs and len(inputs) == len(node.parents) else None
    number = saved if isinstance(saved, np.ndarray) else None  # a Python number operand
    if not isinstance(saved, Tensor):
        saved = None  # not saved, or already freed by backward
    src, _ = b.ident(saved if saved is not None else ("const", node, i), "t")
    if saved is not None and saved.grad_fn is None and not saved._rg:
        label = b.tensor_label(saved, saved.shape, saved.dtype, note="constant")
    elif number is not None:
        label = b.tensor_label(None, number.shape, number.dtype, saved_value=number, note="constant")
    else:
        label = b.tensor_label(None, in_shape[0], in_shape[1], note="constant")
    b.tensor_node(src, label, constant=True)
    return src

def draw_graph(tensor: Tensor, show_values: bool = True, show_grad: bool = True, *, max_values: int = 8,
               names: dict | None = None, rankdir: str = "LR", format: str = "svg"):
    """The graph behind ``tensor`` as a ``graphviz.Source`` (shown inline in Jupyter as SVG).

    Arguments as ``to_dot``; ``format`` is the output format used by ``.render()``
    and ``.pipe()``. Needs the ``graphviz`` Python package and Graphviz's ``dot``
    program; raises ``ImportError`` or ``RuntimeError`` saying how to install the
    missing one. Without them, ``print(to_dot(tensor))`` shows the same graph as text.
    Record the forward pass under ``keep_intermediates()`` for every intermediate's value
    and gradient (see the module's documentation).

    Returns:
        graphviz.Source: call ``.render(path)`` to write a file, or show it in Jupyter.

    Examples:
        >>> import minigrad as mg
        >>> from minigrad.viz import draw_graph, keep_intermediates
        >>> a, b = mg.tensor(2.0, requires_grad=True), mg.tensor(-3.0, requires_grad=True)
        >>> with keep_intermediates():
        ...     L = (a * b + a).tanh()
        >>> L.backward()
        >>> g = draw_graph(L, names={"a": a, "b": b})   # doctest: +SKIP
        >>> g.render("graph", format="png")            # doctest: +SKIP
        'graph.png'
    """
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"draw_graph needs the graphviz Python package: {_GRAPHVIZ_HINT}") from None
    if shutil.which("dot") is None:
        raise RuntimeError(
            f"draw_graph: Graphviz's `dot` program was not found on PATH: {_GRAPHVIZ_HINT}. "
            "print(minigrad.viz.to_dot(t)) shows the graph as text meanwhile."
        )
    dot = to_dot(tensor, show_values, show_grad, max_values=max_values, names=names, rankdir=rankdir)
    return graphviz.Source(dot, format=format)
