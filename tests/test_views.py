"""Views are views: every view PyTorch returns shares memory in minigrad (down to 0-d), and an
in-place op through any of them reaches the base, its version counter and its autograd history.

Each scenario below is one small program run on ``lib`` (minigrad here; the same text runs on
PyTorch in ``test_scenarios_match_pytorch``). The expected values were written by hand and
checked against PyTorch 2.13 by that test (which skips without torch, as in CI).
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck
from minigrad.ops.movement import view_strides

# name -> (program text, names of the values it checks, their expected values)
# ``lib`` is minigrad or torch; programs run in float64 unless they say otherwise.
SCENARIOS = {
    # The three: integer indexing on every axis gave a copy (a numpy scalar).
    "int_index_fill": ("a = lib.zeros(3); a[1].fill_(5.0)", {"a": [0, 5, 0]}),
    "int_index_2d_add": ("b = lib.zeros(2, 3); b[0, 1].add_(7)", {"b": [[0, 7, 0], [0, 0, 0]]}),
    "int_index_iadd": ("c = lib.zeros(3); v = c[2]; v += 1", {"c": [0, 0, 1], "v": 1}),
    "zero_dim_ellipsis": ("a = lib.tensor(2.0); v = a[...]; v.mul_(3)", {"a": 6}),
    "zero_dim_none": ("a = lib.tensor(2.0); v = a[None]; v.sub_(1)", {"a": 1}),
    "select": ("a = lib.zeros(2, 3); a.select(1, 2).fill_(4)", {"a": [[0, 0, 4], [0, 0, 4]]}),
    "select_0d": ("a = lib.zeros(3); a.select(0, -1).add_(2)", {"a": [0, 0, 2]}),
    "unbind": ("a = lib.zeros(2, 2)\nfor i, r in enumerate(a.unbind(1)): r.add_(i + 1)", {"a": [[1, 2], [1, 2]]}),
    "unbind_0d": ("a = lib.zeros(3)\nfor i, e in enumerate(a.unbind()): e.fill_(i * 2)", {"a": [0, 2, 4]}),
    "iterate": ("a = lib.zeros(2, 2)\nfor r in a: r[0] = 7", {"a": [[7, 0], [7, 0]]}),
    "diagonal": ("a = lib.zeros(2, 3); a.diagonal().add_(1)", {"a": [[1, 0, 0], [0, 1, 0]]}),
    "diagonal_offset": ("a = lib.zeros(3, 3); a.diagonal(1).fill_(2); a.diagonal(-2).fill_(3)",
                        {"a": [[0, 2, 0], [0, 0, 2], [3, 0, 0]]}),
    "diagonal_dims": ("a = lib.zeros(2, 2, 2); a.diagonal(0, 0, 2).mul_(0).add_(lib.tensor([[1., 2], [3, 4]]))",
                      {"a": [[[1, 0], [3, 0]], [[0, 2], [0, 4]]]}),
    "split": ("a = lib.zeros(5); p = a.split(2); p[2].fill_(9); p[0][1] = 1", {"a": [0, 1, 0, 0, 9]}),
    "chunk": ("a = lib.zeros(2, 4); a.chunk(2, 1)[1].add_(1)", {"a": [[0, 0, 1, 1], [0, 0, 1, 1]]}),
    "narrow": ("a = lib.zeros(4); a.narrow(0, 1, 2).fill_(3)", {"a": [0, 3, 3, 0]}),
    "expand_no_broadcast": ("a = lib.zeros(3); a.expand(1, 3).add_(2)", {"a": [2, 2, 2]}),
    "view": ("a = lib.zeros(2, 3); a.view(6)[4] = 1; a.view(3, 2)[0].fill_(2)", {"a": [[2, 2, 0], [0, 1, 0]]}),
    "reshape_view": ("a = lib.zeros(2, 3); a.reshape(-1)[5] = 1", {"a": [[0, 0, 0], [0, 0, 1]]}),
    "reshape_copy": ("a = lib.zeros(2, 3); r = a.t().reshape(6); r.fill_(1)", {"a": [[0, 0, 0], [0, 0, 0]]}),
    "transpose": ("a = lib.zeros(2, 3); a.transpose(0, 1)[2].fill_(1)", {"a": [[0, 0, 1], [0, 0, 1]]}),
    "t_T_mT": ("a = lib.zeros(2, 2); a.t()[0, 1] = 1; a.T[1, 0] += 2; a.mT[1, 1] = 3", {"a": [[0, 2], [1, 3]]}),
    "permute": ("a = lib.zeros(1, 2, 3); a.permute(2, 0, 1)[1, 0, 1] = 5", {"a": [[[0, 0, 0], [0, 5, 0]]]}),
    "squeeze_unsqueeze": ("a = lib.zeros(1, 3); a.squeeze(0)[1] = 1; a.unsqueeze(0)[0, 0, 2] = 2",
                          {"a": [[0, 1, 2]]}),
    "flatten_unflatten": ("a = lib.zeros(2, 2); a.flatten()[3] = 1; a.unflatten(1, (2, 1))[0, 1, 0] = 2",
                          {"a": [[0, 2], [0, 1]]}),
    "movedim_swapaxes": ("a = lib.zeros(2, 3); a.movedim(0, 1)[2, 0] = 1; a.swapaxes(0, 1)[0, 1] = 2",
                         {"a": [[0, 0, 1], [2, 0, 0]]}),
    "view_of_view": ("a = lib.zeros(2, 3); a.t()[1:][0, 1].fill_(3); a[1].view(3, 1).T[0, 0].add_(1)",
                     {"a": [[0, 0, 0], [1, 3, 0]]}),
    "setitem_through_view": ("a = lib.zeros(2, 3); v = a[:, 1:]; v[0] = lib.tensor([1., 2])",
                             {"a": [[0, 1, 2], [0, 0, 0]]}),
    "ops_through_views": (
        "a = lib.ones(9); a[0].sub_(3); a[1].mul_(4); a[2].div_(4); a[3].pow_(2.0); a[4].clamp_(max=0.5)\n"
        "a[5].zero_(); a[6].relu_(); a[7].exp_(); a[8].tanh_(); a[1:3].sigmoid_(); b = a[0:1]; b -= 1; b *= 2; b /= 4\n"
        "a[6:7].copy_(lib.tensor([8.]))",
        {"a": [-1.5, 0.982013790037908, 0.562176500885798, 1, 0.5, 0, 8, 2.718281828459045, 0.761594155955765]},
    ),
    "version_counter": ("a = lib.zeros(3); v = a[1]; v.add_(1); w = a.t(); w.mul_(2)",
                        {"a._version": 2, "v._version": 2}),
    # Autograd: the base's history is rebased (PyTorch's CopySlices).
    "grad_clone_elem_mul": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x.clone(); y[0].mul_(2)\n"
                            "y.sum().backward()", {"x.grad": [2, 1, 1], "y": [2, 2, 3]}),
    "grad_nonleaf_elem": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x * 2; y[1].mul_(y[2].clone())\n"
                          "(y * lib.tensor([1., 10, 100])).sum().backward()", {"x.grad": [2, 120, 280], "y": [2, 24, 6]}),
    "grad_view_of_view": ("x = lib.tensor([[1., 2], [3, 4]], requires_grad=True); y = x * x\n"
                          "y.t()[1][0].mul_(3); y.sum().log().backward()",
                          {"x.grad": [[2 / 38, 12 / 38], [6 / 38, 8 / 38]], "y": [[1, 12], [9, 16]]}),
    "grad_sibling_view": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x * 1; s = y[:2]; y[1].mul_(5)\n"
                          "(s * s).sum().backward()", {"x.grad": [2, 100, 0], "s": [1, 10]}),
    "grad_root_becomes_graph": ("w = lib.tensor([1., 2], requires_grad=True); a = lib.zeros(3); v1 = a[:2]\n"
                                "a[1:].copy_(w * 2); (v1 * 3).sum().backward()", {"w.grad": [6, 0], "v1": [0, 2]}),
    "grad_fill_region": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x * x; y[1:].fill_(0)\n"
                         "y.sum().backward()", {"x.grad": [2, 0, 0]}),
    "grad_value_into_view": ("x = lib.tensor([1., 2], requires_grad=True); v = lib.tensor(3., requires_grad=True)\n"
                             "y = x * x; y[0].copy_(v * v); y.sum().backward()",
                             {"x.grad": [0, 4], "v.grad": 6}),
    "grad_diagonal": ("x = lib.ones(3, 3, requires_grad=True); y = x * 1; y.diagonal().mul_(5)\n"
                      "y.sum().backward()", {"x.grad": [[5, 1, 1], [1, 5, 1], [1, 1, 5]]}),
    "grad_select_inplace": ("x = lib.tensor([[1., 2], [3, 4]], requires_grad=True); y = x * 1\n"
                            "for i in range(2): y.select(1, i).mul_(x[:, i])\ny.sum().backward()",
                            {"x.grad": [[2, 4], [6, 8]]}),
    "grad_uniform_region": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x * 3; y[:2].uniform_(0, 1)\n"
                            "y.sum().backward()", {"x.grad": [0, 0, 3]}),
}


def _value(ns, name):
    obj = eval(name, {}, ns)
    if hasattr(obj, "detach"):
        obj = obj.detach().numpy()
    return np.asarray(obj, dtype=np.float64)


def run_scenario(lib, code):
    """Run ``code`` with ``lib``'s default dtype float64; its namespace afterwards."""
    prev = lib.get_default_dtype()
    lib.set_default_dtype(lib.float64)
    try:
        ns = {"lib": lib}
        exec(code, ns)
    finally:
        lib.set_default_dtype(prev)
    return ns


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name):
    code, expected = SCENARIOS[name]
    ns = run_scenario(mg, code)
    for key, want in expected.items():
        np.testing.assert_allclose(_value(ns, key), np.asarray(want, dtype=np.float64), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: {key}")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_match_pytorch(name):
    torch = pytest.importorskip("torch")
    code, expected = SCENARIOS[name]
    ns_t = run_scenario(torch, code)
    ns_m = run_scenario(mg, code)
    for key in expected:
        np.testing.assert_allclose(_value(ns_m, key), _value(ns_t, key), rtol=1e-9, atol=1e-12, err_msg=f"{name}: {key}")
        np.testing.assert_allclose(_value(ns_t, key), np.asarray(expected[key], dtype=np.float64), rtol=1e-9,
                                   atol=1e-12, err_msg=f"{name}: {key} (the stored expectation)")


# name -> (program text, exception class, message pattern): both libraries raise.
RAISES = {
    "saved_operand_modified_through_view": ("x = lib.tensor([1., 2, 3], requires_grad=True); y = x * 2\n"
                                            "y[1].mul_(y[2]); y.sum().backward()",
                                            RuntimeError, "modified by an inplace operation"),
    "saved_output_modified_through_0d_view": ("x = lib.tensor([1., 2], requires_grad=True); y = x.exp()\n"
                                              "y[0].mul_(2); y.sum().backward()",
                                              RuntimeError, "modified by an inplace operation"),
    "saved_output_modified_through_diagonal": ("x = lib.ones(2, 2, requires_grad=True); y = x.tanh()\n"
                                               "y.diagonal().zero_(); y.sum().backward()",
                                               RuntimeError, "modified by an inplace operation"),
    "unbind_piece_inplace": ("x = lib.ones(2, 2, requires_grad=True); y = x * 1; y.unbind(1)[0].mul_(2)",
                             RuntimeError, "returns multiple views"),
    "iterate_inplace": ("x = lib.ones(2, 2, requires_grad=True); y = x * 1\nfor r in y: r.mul_(2)",
                        RuntimeError, "returns multiple views"),
    "split_piece_view_inplace": ("x = lib.ones(4, requires_grad=True); y = x * 1; y.split(2)[1][0].add_(1)",
                                 RuntimeError, "returns multiple views"),
    "chunk_piece_rg_value": ("w = lib.ones(2, requires_grad=True); a = lib.zeros(4); a.chunk(2)[0].copy_(w)",
                             RuntimeError, "multiple views"),
    "leaf_view_inplace": ("x = lib.ones(3, requires_grad=True); x[0].mul_(2)",
                          RuntimeError, "leaf Variable that requires grad"),
    "view_incompatible": ("lib.zeros(2, 3).t().view(6)", RuntimeError, "view size is not compatible"),
    "view_incompatible_permute": ("lib.zeros(2, 3, 4).permute(1, 0, 2).view(3, 8)", RuntimeError,
                                  "view size is not compatible"),
    "expand_overlap_inplace": ("lib.zeros(1, 3).expand(2, 3).add_(1)", RuntimeError, "single memory location"),
    "negative_step": ("lib.zeros(3)[::-1]", ValueError, "step must be greater than zero"),
}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises(name):
    code, exc, pattern = RAISES[name]
    with pytest.raises(exc, match=pattern):
        run_scenario(mg, code)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_as_pytorch(name):
    torch = pytest.importorskip("torch")
    code, exc, pattern = RAISES[name]
    with pytest.raises(exc, match=pattern):
        run_scenario(torch, code)


# ---------------------------------------------------------------------------
# numpy() / np.asarray: read-only while gradients may depend on the memory (SPEC difference 3).

def test_numpy_of_a_tensor_that_requires_grad_is_read_only():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    for arr in (y.numpy(), np.asarray(y), x.numpy()):
        with pytest.raises(ValueError, match="assignment destination is read-only"):
            arr[0] = 100.0
    assert np.shares_memory(y.numpy(), y.detach().numpy())
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]))


def test_numpy_of_a_saved_constant_is_read_only_until_backward_frees_it():
    c = mg.tensor([1.0, 2.0])
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    z = (c * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        c.numpy()[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(c)[0] = 5.0
    z.backward()  # the graph is freed: nothing reads c any more
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])
    c.numpy()[0] = 5.0
    assert c[0].item() == 5.0


def test_numpy_of_a_plain_tensor_is_writable_and_shared():
    a = mg.zeros(3)
    a.numpy()[1] = 2.0
    np.asarray(a)[2] = 3.0
    np.testing.assert_array_equal(a.numpy(), [0.0, 2.0, 3.0])
    assert a.numpy(force=True) is not a.numpy()
    assert np.asarray(a, dtype=np.float64).dtype == np.float64


def test_engine_in_place_paths_still_write():
    w = mg.nn.Parameter(mg.tensor([1.0, 2.0]))
    opt = mg.optim.SGD([w], lr=0.5, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    w.data[0] = 7.0  # .data: PyTorch's untracked escape hatch
    w.data.add_(1.0)
    with mg.no_grad():
        w[1] = 3.0
        w.T.mul_(2)
    np.testing.assert_allclose(w.detach().numpy(), [16.0, 6.0])
    assert w.grad.numpy().flags.writeable


# ---------------------------------------------------------------------------
# Layout: is_contiguous, contiguous, view's rule, reshape view-or-copy.

def test_is_contiguous_reports_the_layout():
    a = mg.zeros(2, 3)
    assert a.is_contiguous() and a[1].is_contiguous() and not a[:, :1].T.is_contiguous()
    assert not a.t().is_contiguous()
    assert not a[:, ::2].is_contiguous()
    assert not mg.zeros(1, 3).expand(2, 3).is_contiguous()
    assert not a.diagonal().is_contiguous()
    assert mg.zeros(3, 1).t().is_contiguous()  # size-1 dims never break contiguity (as PyTorch)
    assert a.contiguous() is a
    c = a.t().contiguous()
    assert c.is_contiguous() and c is not a and not np.shares_memory(c.numpy(), a.numpy())


def test_contiguous_and_clone_are_differentiable_copies():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x.t().contiguous()
    assert c.is_contiguous()
    (c * mg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 3.0], [2.0, 4.0]])
    assert not x.detach().t().clone().is_contiguous()  # clone keeps the layout (preserve_format)


def test_view_and_reshape_share_memory_exactly_when_pytorch_can_view():
    a = mg.arange(24.0).reshape(2, 3, 4)
    p = a.permute(1, 0, 2)
    assert p.view(3, 2, 2, 2).numpy().base is not None
    v = p.view(3, 2, 2, 2)
    v[0, 0, 0, 0] = -1
    assert a[0, 0, 0].item() == -1
    r = p.reshape(3, 8)  # not viewable: a copy, writes stay in it
    r.fill_(5)
    assert a[1, 1, 1].item() == 17
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        p.view(3, 8)
    e = mg.zeros(0, 3).t()
    assert e.view(0).shape == (0,)


def _random_layout(rng):
    """A random strided array (a view of a bigger one: permuted, sliced with steps, size-1 dims)."""
    nd = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 4, size=nd))
    steps = [int(rng.choice([1, 1, 2])) for _ in shape]
    full = tuple(s * st for s, st in zip(shape, steps))
    arr = np.arange(float(np.prod(full))).reshape(full)[tuple(slice(None, None, st) for st in steps)]
    return arr.transpose(rng.permutation(nd))


def _random_new_shape(rng, n):
    dims = []
    while n > 1:
        f = [d for d in range(2, n + 1) if n % d == 0]
        d = int(rng.choice(f))
        dims.append(d)
        n //= d
    for _ in range(int(rng.integers(0, 2))):
        dims.insert(int(rng.integers(0, len(dims) + 1)), 1)
    return tuple(dims)


def test_view_rule_agrees_with_the_memory_numpy_can_share():
    """``view_strides`` says a view exists exactly when numpy's reshape shares memory, and the
    strides it gives address the same elements."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        arr = _random_layout(rng)
        shape = _random_new_shape(rng, arr.size)
        st = view_strides(arr.shape, arr.strides, shape)
        shares = np.shares_memory(arr.reshape(shape), arr)
        assert (st is not None) == shares, (arr.shape, arr.strides, shape)
        if st is not None:
            got = np.lib.stride_tricks.as_strided(arr, shape, st)
            np.testing.assert_array_equal(got, arr.reshape(shape))


def _root_of(a):
    while a.base is not None:
        a = a.base
    return a


@pytest.mark.torch
def test_view_rule_and_contiguity_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for _ in range(400):
        arr = _random_layout(rng)
        shape = _random_new_shape(rng, arr.size)
        root = _root_of(arr)
        offset = (arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // arr.itemsize
        tt = torch.as_strided(torch.from_numpy(root), arr.shape, tuple(s // arr.itemsize for s in arr.strides), offset)
        x = mg.Tensor._make(arr, False, None)
        outcomes = []
        for t in (tt, x):
            try:
                t.view(shape)
                outcomes.append(True)
            except RuntimeError:
                outcomes.append(False)
        assert outcomes[0] == outcomes[1], (arr.shape, arr.strides, shape)
        assert x.is_contiguous() == tt.is_contiguous(), (arr.shape, arr.strides)


def test_view_dtype_reinterprets_the_bytes():
    x = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    b = x.view(mg.int64)
    np.testing.assert_array_equal(b.numpy(), np.array([1.0, -2.0]).view(np.int64))
    assert not b.requires_grad
    h = mg.zeros(2, dtype=mg.float64).view(mg.float32)
    assert h.shape == (4,)
    with pytest.raises(RuntimeError, match="view"):
        mg.zeros(2, 3, dtype=mg.float64).t().view(mg.float32)


def test_version_counter_is_shared_with_every_view():
    a = mg.zeros(2, 3)
    views = [a[1, 2], a.t(), a.view(6), a.diagonal(), a.narrow(1, 0, 2), a.select(0, 1), a.split(1)[0],
             a.unsqueeze(0).squeeze(), a.expand(1, 2, 3), a[...], a.detach(), a.flatten(), a.T, a.mT, a.reshape(3, 2)]
    for i, v in enumerate(views):
        v.add_(1)
        assert a._version == i + 1 and v._version == i + 1
    # ten views cover all of a; the others: a[1, 2], the diagonal, two columns, row 1, row 0
    np.testing.assert_array_equal(a.numpy(), [[13, 12, 11], [12, 13, 12]])


def test_narrow_select_diagonal_errors():
    a = mg.zeros(2, 3)
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        a.narrow(1, 2, 2)
    with pytest.raises(IndexError):
        a.select(1, 3)
    with pytest.raises(IndexError):
        mg.tensor(1.0).select(0, 0)
    with pytest.raises(RuntimeError, match="diagonal"):
        mg.zeros(3).diagonal()
    with pytest.raises(RuntimeError, match="identical"):
        a.diagonal(0, 1, -1)


def test_in_place_through_views_gradcheck():
    """Finite differences agree with backward through in-place ops on every kind of view."""
    def f(x, v):
        y = x * 1.0
        y[1, 2].mul_(v[0])
        y.t()[0].add_(v[1:3])
        y.diagonal().mul_(v[3])
        y.narrow(1, 1, 2).select(0, 0).sub_(v[4] * v[4])
        y.view(6)[5:].tanh_()
        y.unsqueeze(0).permute(2, 0, 1)[2].sigmoid_()
        return y

    x = mg.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=mg.float64, requires_grad=True)
    v = mg.tensor([0.5, -0.3, 0.8, 1.2, 0.7], dtype=mg.float64, requires_grad=True)
    assert gradcheck(f, (x, v))


# ---------------------------------------------------------------------------
# The audit: an op's result shares memory with its input exactly when PyTorch returns a view,
# and then it shares the version counter too (numpy returns views in places PyTorch copies).

_X = np.arange(1.0, 25.0).reshape(2, 3, 4)
VIEW_OPS = {
    "int_index": lambda x: x[1, 2, 3], "slice": lambda x: x[:, 1:], "ellipsis": lambda x: x[...],
    "none": lambda x: x[None], "select": lambda x: x.select(2, 1), "unbind": lambda x: x.unbind(1)[2],
    "split": lambda x: x.split(2, 2)[1], "chunk": lambda x: x.chunk(3, 1)[0], "narrow": lambda x: x.narrow(1, 1, 1),
    "diagonal": lambda x: x.diagonal(0, 1, 2), "expand": lambda x: x[:, :1].expand(2, 3, 4),
    "view": lambda x: x.view(6, 4), "view_as": lambda x: x.view_as(mg.zeros(4, 6)), "reshape": lambda x: x.reshape(-1),
    "transpose": lambda x: x.transpose(0, 2), "permute": lambda x: x.permute(2, 0, 1), "mT": lambda x: x.mT,
    "T": lambda x: x[0].T, "t": lambda x: x[0].t(), "squeeze": lambda x: x[:1].squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1), "flatten": lambda x: x.flatten(), "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "movedim": lambda x: x.movedim(0, 2), "swapaxes": lambda x: x.swapaxes(0, 1), "detach": lambda x: x.detach(),
    "view_dtype": lambda x: x.view(mg.int64), "broadcast_to": lambda x: x[:, :1].broadcast_to((2, 3, 4)),
    "expand_as": lambda x: x[:1].expand_as(x),
}
COPY_OPS = {
    "clone": lambda x: x.clone(), "contiguous": lambda x: x.transpose(0, 1).contiguous(),
    "reshape_copy": lambda x: x.transpose(0, 1).reshape(-1), "flatten_copy": lambda x: x.transpose(1, 2).flatten(),
    "int_array": lambda x: x[[0, 1]], "mask": lambda x: x[x > 3], "index_select": lambda x: x.index_select(1, mg.tensor([0, 2])),
    "repeat": lambda x: x.repeat(1, 1, 2), "roll": lambda x: x.roll(1, 2), "cat": lambda x: mg.cat([x, x]),
    "stack": lambda x: mg.stack([x[0], x[1]]), "tril": lambda x: x[0].tril(), "masked_fill": lambda x: x.masked_fill(x > 2, 0.0),
    "gather": lambda x: x.gather(2, mg.zeros(2, 3, 1, dtype=mg.int64)), "diag": lambda x: x[0].diag(),
    "where": lambda x: mg.where(x > 2, x, 0.0), "clamp": lambda x: x.clamp(0, 10), "float": lambda x: x.float(),
    "sort": lambda x: x.sort(dim=2)[0], "abs": lambda x: abs(x), "neg": lambda x: -x, "sum_keepdim": lambda x: x.sum(0, True),
    "pad": lambda x: mg.nn.functional.pad(x, (1, 1)), "take_along_dim": lambda x: x.take_along_dim(mg.zeros(2, 3, 1, dtype=mg.int64), 2),
    "max_dim": lambda x: x.max(2)[0], "cumsum": lambda x: x.cumsum(1), "sum_all": lambda x: x.sum(), "mean": lambda x: x.mean(),
}


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_view_ops_share_memory_and_version(name):
    x = mg.tensor(_X)
    v = VIEW_OPS[name](x)
    assert np.shares_memory(v.numpy(), x.numpy())
    if name in ("expand", "broadcast_to", "expand_as"):  # overlapping: PyTorch refuses writes too
        with pytest.raises(RuntimeError, match="single memory location"):
            v.add_(1)
        return
    before = x.numpy().copy()
    v.add_(1)
    assert x._version == 1 == v._version
    assert (x.numpy() != before).any()


@pytest.mark.parametrize("name", sorted(COPY_OPS))
def test_other_ops_copy(name):
    x = mg.tensor(_X)
    out = COPY_OPS[name](x)
    assert not np.shares_memory(out.numpy(), x.numpy())


def test_flip_copies():
    x = mg.tensor(_X)
    assert not np.shares_memory(x.flip(0).numpy(), x.numpy())
