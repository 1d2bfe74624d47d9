"""Bad input catalogue: each kind of misuse raises PyTorch's exception class, with a
message naming the op and the offending shapes, dtypes or values.

Every case is written against a module ``T`` (minigrad here; ``torch`` in
``test_same_exception_class_as_torch``, which runs the same cases under PyTorch
when it is installed), so the expected class is checked against PyTorch itself.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import warnings
import zipfile

import numpy as np
import pytest

import minigrad

# (id, fn(T, tmp_path), exception class, substrings the message must contain, run under torch too)
CASES: list = []


def case(name, exc, *needles, torch=True):
    def deco(fn):
        CASES.append((name, fn, exc, needles, torch))
        return fn
    return deco


def _t(T, shape, dtype=None, requires_grad=False):
    n = int(np.prod(shape))
    data = (np.arange(n, dtype=np.float64).reshape(shape) + 1.0) / max(n, 1)
    return T.tensor(data.tolist() if shape else float(data), dtype=dtype or T.float32, requires_grad=requires_grad)


# -- wrong shapes in every binary op family -----------------------------------------------

for _op in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "eq", "lt", "logical_and",
            "floor_divide"):
    def _bin(T, tmp_path, _op=_op):
        getattr(T, _op)(_t(T, (2, 3)), _t(T, (4,)))

    CASES.append((f"binary_shape_{_op}", _bin, RuntimeError, (_op, "(2, 3)", "(4,)"), True))


@case("binary_shape_operator", RuntimeError, "mul", "(2, 3, 4)", "(2, 4, 3)")
def _(T, tmp_path):
    _t(T, (2, 3, 4)) * _t(T, (2, 4, 3))


@case("binary_shape_with_grad", RuntimeError, "add", "(5,)", "(3,)")
def _(T, tmp_path):
    _t(T, (5,), requires_grad=True) + _t(T, (3,), requires_grad=True)


@case("where_shapes", RuntimeError, "where", "(2,)", "(3,)")
def _(T, tmp_path):
    T.where(T.tensor([True, False]), _t(T, (2,)), _t(T, (3,)))


@case("inplace_broadcast_grows", RuntimeError, "add_", "(3,)", "(2, 3)")
def _(T, tmp_path):
    x = _t(T, (3,))
    x.add_(_t(T, (2, 3)))


# -- matmul family --------------------------------------------------------------------------

@case("matmul_inner", RuntimeError, "matmul", "(2, 3)", "(4, 5)")
def _(T, tmp_path):
    T.matmul(_t(T, (2, 3)), _t(T, (4, 5)))


@case("matmul_operator_vec", RuntimeError, "matmul", "(3,)", "(4,)")
def _(T, tmp_path):
    _t(T, (3,)) @ _t(T, (4,))


@case("matmul_batch", RuntimeError, "matmul", "(2, 3, 4)", "(3, 4, 5)")
def _(T, tmp_path):
    T.matmul(_t(T, (2, 3, 4)), _t(T, (3, 4, 5)))


@case("matmul_0d", RuntimeError, "matmul", "0D")
def _(T, tmp_path):
    T.matmul(_t(T, ()), _t(T, (3,)))


@case("matmul_dtypes", RuntimeError, "matmul", "float32", "float64")
def _(T, tmp_path):
    T.matmul(_t(T, (2, 2)), _t(T, (2, 2), dtype=T.float64))


@case("mm_3d", RuntimeError, "mm", "(2, 2, 2)")
def _(T, tmp_path):
    T.mm(_t(T, (2, 2, 2)), _t(T, (2, 2)))


@case("dot_2d", RuntimeError, "dot", "2D")
def _(T, tmp_path):
    T.dot(_t(T, (2, 2)), _t(T, (2,)))


@case("einsum_subscripts", RuntimeError, "einsum", "(2, 3)")
def _(T, tmp_path):
    T.einsum("ijk->i", _t(T, (2, 3)))


# -- dims ---------------------------------------------------------------------------------

@case("sum_dim", IndexError, "sum", "[-2, 1]", "got 2")
def _(T, tmp_path):
    _t(T, (2, 3)).sum(2)


@case("mean_dim_negative", IndexError, "mean", "got -3")
def _(T, tmp_path):
    _t(T, (2, 3)).mean(-3)


@case("softmax_dim", IndexError, "softmax", "got 1")
def _(T, tmp_path):
    _t(T, (3,)).softmax(1)


@case("transpose_dim", IndexError, "transpose", "got 5")
def _(T, tmp_path):
    _t(T, (2, 3)).transpose(0, 5)


@case("squeeze_dim", IndexError, "squeeze", "got 3")
def _(T, tmp_path):
    _t(T, (2, 1)).squeeze(3)


@case("unsqueeze_dim", IndexError, "unsqueeze", "got 4")
def _(T, tmp_path):
    _t(T, (2, 1)).unsqueeze(4)


@case("amax_dim_repeated", RuntimeError, "amax", "dim 1", "multiple times")
def _(T, tmp_path):
    _t(T, (2, 3)).amax((1, -1))


@case("permute_count", RuntimeError, "permute", "(2, 3)")
def _(T, tmp_path):
    _t(T, (2, 3)).permute(0, 1, 2)


@case("reshape_size", RuntimeError, "reshape", "(4, 4)", "6")
def _(T, tmp_path):
    _t(T, (2, 3)).reshape(4, 4)


@case("view_two_inferred", RuntimeError, "view", "only one dimension can be inferred")
def _(T, tmp_path):
    _t(T, (2, 3)).view(-1, -1)


@case("expand_size", RuntimeError, "expand", "(3)", "(2)")
def _(T, tmp_path):
    _t(T, (2, 1)).expand(3, 4)


@case("cat_shapes", RuntimeError, "cat", "(2, 3)", "(2, 4)", "dimension 0")
def _(T, tmp_path):
    T.cat([_t(T, (2, 3)), _t(T, (2, 4))], dim=0)


@case("stack_shapes", RuntimeError, "stack", "(2,)", "(3,)")
def _(T, tmp_path):
    T.stack([_t(T, (2,)), _t(T, (3,))])


@case("split_sizes", RuntimeError, "split", "[1, 1]", "3")
def _(T, tmp_path):
    _t(T, (3,)).split([1, 1])


@case("flatten_args", RuntimeError, "flatten", "start_dim")
def _(T, tmp_path):
    _t(T, (2, 3, 4)).flatten(2, 1)


# -- indices --------------------------------------------------------------------------------

@case("index_int", IndexError, "index 5", "size 3", "(3, 2)")
def _(T, tmp_path):
    _t(T, (3, 2))[5]


@case("index_int_array", IndexError, "index 7", "size 3")
def _(T, tmp_path):
    _t(T, (3,))[T.tensor([0, 7])]


@case("index_negative", IndexError, "index -4", "size 3")
def _(T, tmp_path):
    _t(T, (3,))[-4]


@case("index_too_many", IndexError, "too many indices", "1")
def _(T, tmp_path):
    _t(T, (3,))[0, 1]


@case("index_mask_shape", IndexError, "mask", "[3]", "[2, 3]")
def _(T, tmp_path):
    _t(T, (2, 3))[T.tensor([True, False, True])]


@case("index_float_tensor", IndexError, "float")
def _(T, tmp_path):
    _t(T, (3,))[T.tensor([0.0, 1.0])]


@case("setitem_index", IndexError, "index 3", "size 3")
def _(T, tmp_path):
    x = _t(T, (3,))
    x[3] = 1.0


@case("setitem_shape", RuntimeError, "setitem", "(4,)", "(3,)")
def _(T, tmp_path):
    x = _t(T, (2, 3))
    x[0] = _t(T, (4,))


@case("gather_index_range", RuntimeError, "gather", "index 5", "size 3")
def _(T, tmp_path):
    _t(T, (3,)).gather(0, T.tensor([5]))


@case("gather_index_dtype", RuntimeError, "gather", "int64", "float32")
def _(T, tmp_path):
    _t(T, (3,)).gather(0, T.tensor([0.0]))


@case("index_select_2d", IndexError, "index_select", "(1, 2)")
def _(T, tmp_path):
    _t(T, (3,)).index_select(0, T.tensor([[0, 1]]))


# -- autograd misuse ----------------------------------------------------------------------

@case("int_requires_grad", RuntimeError, "floating point", "int64")
def _(T, tmp_path):
    T.tensor([1, 2], requires_grad=True)


@case("int_requires_grad_", RuntimeError, "floating point", "int32")
def _(T, tmp_path):
    T.zeros(3, dtype=T.int32).requires_grad_()


@case("bool_requires_grad", RuntimeError, "floating point", "bool")
def _(T, tmp_path):
    T.ones(2, dtype=T.bool, requires_grad=True)


@case("backward_non_scalar", RuntimeError, "scalar outputs", "(2, 3)")
def _(T, tmp_path):
    (_t(T, (2, 3), requires_grad=True) * 2).backward()


@case("backward_no_grad", RuntimeError, "does not require grad", "shape ()")
def _(T, tmp_path):
    (_t(T, (3,)) * 2).sum().backward()


@case("backward_under_no_grad", RuntimeError, "does not require grad")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    with T.no_grad():
        y = (x * 2).sum()
    y.backward()


@case("backward_gradient_shape", RuntimeError, "Mismatch in shape", "(3,)", "(2,)")
def _(T, tmp_path):
    y = _t(T, (2,), requires_grad=True) * 2
    y.backward(T.ones(3))


@case("freed_graph", RuntimeError, "MulBackward0", "second time", "retain_graph=True")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


@case("inplace_saved_value", RuntimeError, "ExpBackward0", "modified by an inplace operation", "version 1")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    y = x.exp()
    y.add_(1)
    y.sum().backward()


@case("inplace_saved_input_setitem", RuntimeError, "MulBackward0", "inplace", "version")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    h = x * 1
    y = h * h
    h[0] = 5.0
    y.sum().backward()


@case("inplace_leaf", RuntimeError, "leaf", "in-place")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    x.mul_(2)


@case("grad_unused_input", RuntimeError, "not have been used in the graph", "allow_unused")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    z = _t(T, (2,), requires_grad=True)
    T.autograd.grad((x * 2).sum(), [x, z])


@case("grad_input_no_grad", RuntimeError, "does not require grad")
def _(T, tmp_path):
    x = _t(T, (3,), requires_grad=True)
    T.autograd.grad((x * 2).sum(), [_t(T, (3,))])


@case("requires_grad_false_non_leaf", RuntimeError, "leaf")
def _(T, tmp_path):
    (_t(T, (3,), requires_grad=True) * 2).requires_grad_(False)


@case("hook_without_grad", RuntimeError, "doesn't require gradient")
def _(T, tmp_path):
    _t(T, (3,)).register_hook(lambda g: g)


@case("anomaly_nan_backward", RuntimeError, "SqrtBackward0", "nan", "test_errors.py")
def _(T, tmp_path):
    x = T.zeros(3, requires_grad=True)
    with T.autograd.detect_anomaly():
        y = x.sqrt() * 0  # sqrt'(0) = inf; inf * 0 = nan in backward
        y.sum().backward()


@case("anomaly_nan_pow", RuntimeError, "PowBackward", "nan")
def _(T, tmp_path):
    x = T.tensor([-1.0, 2.0], requires_grad=True)
    with T.autograd.detect_anomaly():
        (x ** 0.5).sum().backward()


# -- data ------------------------------------------------------------------------------------

@case("ragged_list", ValueError, "length", "2", "3")
def _(T, tmp_path):
    T.tensor([[1.0, 2.0], [3.0, 4.0, 5.0]])


@case("string_data", TypeError, "str")
def _(T, tmp_path):
    T.tensor("abc")


@case("string_in_list", TypeError, "str")
def _(T, tmp_path):
    T.tensor([1.0, "a"])


@case("item_many", RuntimeError, "6 elements", "Scalar")
def _(T, tmp_path):
    _t(T, (2, 3)).item()


@case("bool_ambiguous", RuntimeError, "ambiguous", "more than one value")
def _(T, tmp_path):
    bool(_t(T, (2,)))


@case("mean_int", RuntimeError, "mean", "int64")
def _(T, tmp_path):
    T.tensor([1, 2, 3]).mean()


@case("clamp_no_bounds", RuntimeError, "clamp", "min", "max")
def _(T, tmp_path):
    _t(T, (3,)).clamp()


@case("topk_k", RuntimeError, "topk", "k (4)", "range", "(3,)")
def _(T, tmp_path):
    _t(T, (3,)).topk(4)


@case("negative_size", RuntimeError, "negative dimension", "-1")
def _(T, tmp_path):
    T.zeros(2, -1)


@case("len_0d", TypeError, "len()", "0-d")
def _(T, tmp_path):
    len(_t(T, ()))


# -- nn / optim / save --------------------------------------------------------------------------

def _linear(T):
    T.manual_seed(0)
    return T.nn.Linear(3, 2)


@case("linear_in_features", RuntimeError, "linear", "(4x5", "3x2)")
def _(T, tmp_path):
    _linear(T)(_t(T, (4, 5)))


@case("state_dict_missing", RuntimeError, "Missing key(s)", '"bias"', "Linear")
def _(T, tmp_path):
    m = _linear(T)
    sd = m.state_dict()
    del sd["bias"]
    m.load_state_dict(sd)


@case("state_dict_unexpected", RuntimeError, "Unexpected key(s)", '"extra"')
def _(T, tmp_path):
    m = _linear(T)
    sd = m.state_dict()
    sd["extra"] = T.zeros(1)
    m.load_state_dict(sd)


@case("state_dict_shape", RuntimeError, "size mismatch for weight", "[3, 3]", "[2, 3]")
def _(T, tmp_path):
    m = _linear(T)
    sd = m.state_dict()
    sd["weight"] = T.zeros(3, 3)
    m.load_state_dict(sd)


@case("optimizer_non_leaf", ValueError, "non-leaf", "MulBackward0", "(3,)")
def _(T, tmp_path):
    w = _t(T, (3,), requires_grad=True)
    T.optim.SGD([w * 2], lr=0.1)


@case("optimizer_empty", ValueError, "empty parameter list")
def _(T, tmp_path):
    T.optim.Adam([], lr=0.1)


@case("optimizer_bad_lr", ValueError, "learning rate", "-0.1")
def _(T, tmp_path):
    T.optim.SGD([_t(T, (3,), requires_grad=True)], lr=-0.1)


@case("cross_entropy_target_range", IndexError, "Target 5", "out of bounds", "cross_entropy", "(2, 3)")
def _(T, tmp_path):
    T.nn.functional.cross_entropy(_t(T, (2, 3)), T.tensor([0, 5]))


@case("cross_entropy_batch", ValueError, "batch_size", "(2)", "(3)")
def _(T, tmp_path):
    T.nn.functional.cross_entropy(_t(T, (2, 3)), T.tensor([0, 1, 2]))


@case("conv2d_channels", RuntimeError, "conv2d", "3", "2")
def _(T, tmp_path):
    T.nn.functional.conv2d(_t(T, (1, 2, 5, 5)), _t(T, (4, 3, 3, 3)))


@case("conv2d_input_dims", RuntimeError, "conv2d", "[5, 5]")
def _(T, tmp_path):
    T.nn.functional.conv2d(_t(T, (5, 5)), _t(T, (1, 1, 3, 3)))


@case("max_pool_kernel_too_big", RuntimeError, "max_pool2d", "(1, 2, 2)", "kernel_size (3, 3)")
def _(T, tmp_path):
    T.nn.functional.max_pool2d(_t(T, (1, 1, 2, 2)), 3)


@case("embedding_index", IndexError, "index", "out of range")
def _(T, tmp_path):
    T.manual_seed(0)
    T.nn.Embedding(4, 2)(T.tensor([1, 4]))


@case("one_hot_classes", RuntimeError, "one_hot", "num_classes=3", "class 3")
def _(T, tmp_path):
    T.nn.functional.one_hot(T.tensor([0, 3]), 3)


@case("batchnorm_channels", RuntimeError, "BatchNorm1d", "3 channels", "(2, 4)")
def _(T, tmp_path):
    T.nn.BatchNorm1d(3)(_t(T, (2, 4)))


@case("optimizer_state_groups", ValueError, "parameter groups")
def _(T, tmp_path):
    w1 = _t(T, (2,), requires_grad=True)
    w2 = _t(T, (2,), requires_grad=True)
    opt = T.optim.SGD([w1], lr=0.1)
    other = T.optim.SGD([{"params": [w1]}, {"params": [w2]}], lr=0.1)
    opt.load_state_dict(other.state_dict())


@case("dataloader_batch_size", ValueError, "batch_size", "0")
def _(T, tmp_path):
    T.utils.data.DataLoader(T.utils.data.TensorDataset(_t(T, (4, 2))), batch_size=0)


def _saved(T, tmp_path):
    path = os.path.join(str(tmp_path), "m.mg")
    T.save({"w": _t(T, (4, 4)), "step": 3}, path)
    with open(path, "rb") as f:
        return path, f.read()


@case("load_truncated", RuntimeError, "m.mg", torch=False)
def _(T, tmp_path):
    path, raw = _saved(T, tmp_path)
    with open(path, "wb") as f:
        f.write(raw[: len(raw) // 2])
    T.load(path)


@case("load_tampered_bytes", RuntimeError, "m.mg", torch=False)
def _(T, tmp_path):
    path, raw = _saved(T, tmp_path)
    raw = bytearray(raw)
    mid = len(raw) // 3
    raw[mid:mid + 16] = b"\x00" * 16
    with open(path, "wb") as f:
        f.write(bytes(raw))
    T.load(path)


@case("load_not_a_file_format", RuntimeError, "m.mg", torch=False)
def _(T, tmp_path):
    path = os.path.join(str(tmp_path), "m.mg")
    with open(path, "wb") as f:
        f.write(b"hello, this is not a checkpoint")
    T.load(path)


@case("load_missing_file", FileNotFoundError, "nope.mg")
def _(T, tmp_path):
    T.load(os.path.join(str(tmp_path), "nope.mg"))


@pytest.mark.parametrize("name,fn,exc,needles", [c[:4] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(name, fn, exc, needles, tmp_path):
    with pytest.raises(Exception) as info:
        fn(minigrad, tmp_path)
    err = info.value
    assert type(err) is exc or isinstance(err, exc), f"{name}: raised {type(err).__name__}: {err}"
    msg = str(err)
    for needle in needles:
        assert needle in msg, f"{name}: message lacks {needle!r}: {msg}"


def test_catalogue_size():
    assert len(CASES) >= 40


@pytest.mark.torch
@pytest.mark.parametrize("name,fn,exc", [c[:3] for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_same_exception_class_as_torch(name, fn, exc, tmp_path):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(), pytest.raises(Exception) as info:
        # PyTorch warns on entering detect_anomaly; the test run makes warnings errors.
        warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled", category=UserWarning)
        fn(torch, tmp_path)
    assert isinstance(info.value, exc), f"{name}: torch raised {type(info.value).__name__}: {info.value}"


# -- safe loading: crafted files execute nothing ------------------------------------------------

class _Boom:
    """Unpickling this runs ``open(marker, 'w')`` (via __reduce__)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _npz_with_pickled_member(path: str, marker: str) -> None:
    arr = np.empty((), dtype=object)
    arr[()] = _Boom(marker)
    np.savez(path, __minigrad__=np.array('{"format": "minigrad", "version": 1, "root": {"ndarray": "a0"}}'), a0=arr)
    os.replace(path + ".npz", path) if os.path.exists(path + ".npz") else None


@pytest.mark.parametrize("kind", ["bare_pickle", "npz_object_member", "zip_with_pickle_member"])
def test_load_never_unpickles(kind, tmp_path):
    marker = str(tmp_path / "pwned")
    path = str(tmp_path / "evil.mg")
    if kind == "bare_pickle":
        with open(path, "wb") as f:
            pickle.dump({"w": _Boom(marker)}, f)
    elif kind == "npz_object_member":
        _npz_with_pickled_member(path, marker)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("__minigrad__.npy", pickle.dumps(_Boom(marker)))
            z.writestr("data.pkl", pickle.dumps(_Boom(marker)))
        with open(path, "wb") as f:
            f.write(buf.getvalue())
    # the crafted file really would run code if unpickled
    with open(path, "rb") as f:
        raw = f.read()
    assert b"pwned" in raw
    with pytest.raises((RuntimeError, ValueError)) as info:
        minigrad.load(path)
    assert not os.path.exists(marker), "loading executed code from the file"
    assert re.search(r"pickle|object|not a minigrad|format", str(info.value), re.I), str(info.value)
