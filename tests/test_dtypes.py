"""dtype rules (SPEC "Tensor": construction and PyTorch's type promotion), against PyTorch's answers.

EXPECTED was produced by running the same expressions under torch 2.x (float32 default dtype).
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

T = mg


def _expressions():
    f32 = T.tensor([1.0, 2.0])
    f64 = T.tensor([1.0, 2.0], dtype=T.float64)
    i64 = T.tensor([1, 2])
    i32 = T.tensor([1, 2], dtype=T.int32)
    b = T.tensor([True, False])
    u8 = T.tensor([1, 2], dtype=T.uint8)
    f16 = T.tensor([1.0, 2.0], dtype=T.float16)
    z64 = T.tensor(1.0, dtype=T.float64)
    zi = T.tensor(3)
    zf32 = T.tensor(1.0)
    return {
        "tensor(1.5)": lambda: T.tensor(1.5),
        "tensor(3)": lambda: T.tensor(3),
        "tensor(True)": lambda: T.tensor(True),
        "tensor([1,2.5])": lambda: T.tensor([1, 2.5]),
        "tensor(np f64)": lambda: T.tensor(np.ones(2)),
        "tensor(np f32)": lambda: T.tensor(np.ones(2, np.float32)),
        "tensor(np i32)": lambda: T.tensor(np.ones(2, np.int32)),
        "tensor(np u8)": lambda: T.tensor(np.ones(2, np.uint8)),
        "tensor(np f16)": lambda: T.tensor(np.ones(2, np.float16)),
        "tensor(np bool)": lambda: T.tensor(np.ones(2, bool)),
        "i64/i64": lambda: i64 / i64,
        "i64*1.5": lambda: i64 * 1.5,
        "i64+1": lambda: i64 + 1,
        "i64//2": lambda: i64 // 2,
        "f32+1.5": lambda: f32 + 1.5,
        "f32*2": lambda: f32 * 2,
        "f32+z64": lambda: f32 + z64,
        "f32+f64": lambda: f32 + f64,
        "i64+f32": lambda: i64 + f32,
        "i32+i64": lambda: i32 + i64,
        "i32+zi": lambda: i32 + zi,
        "u8+i64": lambda: u8 + i64,
        "b+b": lambda: b + b,
        "b+1": lambda: b + 1,
        "b*1.5": lambda: b * 1.5,
        "i64+zf32": lambda: i64 + zf32,
        "f16+f32": lambda: f16 + f32,
        "f16+1.0": lambda: f16 + 1.0,
        "i32+1.5": lambda: i32 + 1.5,
        "i64**2": lambda: i64 ** 2,
        "i64**0.5": lambda: i64 ** 0.5,
        "2**i64": lambda: 2 ** i64,
        "2.0**i64": lambda: 2.0 ** i64,
        "f32**f64": lambda: f32 ** f64,
        "i64.sum()": lambda: i64.sum(),
        "b.sum()": lambda: b.sum(),
        "i32.sum()": lambda: i32.sum(),
        "f32.sum()": lambda: f32.sum(),
        "i64.exp()": lambda: i64.exp(),
        "i64.sqrt()": lambda: T.sqrt(i64),
        "i32.sigmoid()": lambda: i32.sigmoid(),
        "i64.abs()": lambda: i64.abs(),
        "i64.neg()": lambda: -i64,
        "i64 > 1": lambda: i64 > 1,
        "f32 == f64": lambda: f32 == f64,
        "where(b,i64,f32)": lambda: T.where(b, i64, f32),
        "where(b,f32,0.0)": lambda: T.where(b, f32, 0.0),
        "where(b,i64,0.5)": lambda: T.where(b, i64, 0.5),
        "cat(i64,f32)": lambda: T.cat([i64, f32]),
        "i64.cumsum": lambda: i64.cumsum(0),
        "i32.cumsum": lambda: i32.cumsum(0),
        "i64.prod": lambda: i64.prod(),
        "i32.prod": lambda: i32.prod(),
        "i64.max": lambda: i64.max(),
        "i64.argmax": lambda: i64.argmax(),
        "f32.float()": lambda: f64.float(),
        "f64.long()": lambda: f64.long(),
        "f32.double": lambda: f32.double(),
        "zeros": lambda: T.zeros(2),
        "zeros i": lambda: T.zeros(2, dtype=T.int64),
        "ones": lambda: T.ones(2),
        "full 1": lambda: T.full((2,), 1),
        "full 1.5": lambda: T.full((2,), 1.5),
        "full True": lambda: T.full((2,), True),
        "arange 3": lambda: T.arange(3),
        "arange 0.5": lambda: T.arange(0, 2, 0.5),
        "arange 3.0": lambda: T.arange(3.0),
        "linspace": lambda: T.linspace(0, 1, 3),
        "eye": lambda: T.eye(2),
        "rand": lambda: T.rand(2),
        "randn": lambda: T.randn(2),
        "randint": lambda: T.randint(0, 3, (2,)),
        "zeros_like(i64)": lambda: T.zeros_like(i64),
        "ones_like(f64)": lambda: T.ones_like(f64),
        "full_like(i64, 1.5)": lambda: T.full_like(i64, 1.5),
        "from_numpy f64": lambda: T.from_numpy(np.ones(2)),
        "f32.mean()": lambda: f32.mean(),
        "i64.float().mean": lambda: i64.float().mean(),
        "i64 % 2": lambda: i64 % 2,
        "f32 % 2": lambda: f32 % 2,
        "i64.div(i64, trunc)": lambda: T.div(i64, i64, rounding_mode="trunc"),
        "i64.div floor": lambda: T.div(i64, i64, rounding_mode="floor"),
        "np f64 + f32 t": lambda: f32 + np.float64(1.5),
        "maximum(i64,f32)": lambda: T.maximum(i64, f32),
        "clamp(i64,0.5)": lambda: T.clamp(i64, 0.5),
        "i64.clamp(0,1)": lambda: i64.clamp(0, 1),
    }


EXPECTED = {
    "tensor(1.5)": "float32",
    "tensor(3)": "int64",
    "tensor(True)": "bool",
    "tensor([1,2.5])": "float32",
    "tensor(np f64)": "float64",
    "tensor(np f32)": "float32",
    "tensor(np i32)": "int32",
    "tensor(np u8)": "uint8",
    "tensor(np f16)": "float16",
    "tensor(np bool)": "bool",
    "i64/i64": "float32",
    "i64*1.5": "float32",
    "i64+1": "int64",
    "i64//2": "int64",
    "f32+1.5": "float32",
    "f32*2": "float32",
    "f32+z64": "float32",
    "f32+f64": "float64",
    "i64+f32": "float32",
    "i32+i64": "int64",
    "i32+zi": "int32",
    "u8+i64": "int64",
    "b+b": "bool",
    "b+1": "int64",
    "b*1.5": "float32",
    "i64+zf32": "float32",
    "f16+f32": "float32",
    "f16+1.0": "float16",
    "i32+1.5": "float32",
    "i64**2": "int64",
    "i64**0.5": "float32",
    "2**i64": "int64",
    "2.0**i64": "float32",
    "f32**f64": "float64",
    "i64.sum()": "int64",
    "b.sum()": "int64",
    "i32.sum()": "int64",
    "f32.sum()": "float32",
    "i64.exp()": "float32",
    "i64.sqrt()": "float32",
    "i32.sigmoid()": "float32",
    "i64.abs()": "int64",
    "i64.neg()": "int64",
    "i64 > 1": "bool",
    "f32 == f64": "bool",
    "where(b,i64,f32)": "float32",
    "where(b,f32,0.0)": "float32",
    "where(b,i64,0.5)": "float32",
    "cat(i64,f32)": "float32",
    "i64.cumsum": "int64",
    "i32.cumsum": "int64",
    "i64.prod": "int64",
    "i32.prod": "int64",
    "i64.max": "int64",
    "i64.argmax": "int64",
    "f32.float()": "float32",
    "f64.long()": "int64",
    "f32.double": "float64",
    "zeros": "float32",
    "zeros i": "int64",
    "ones": "float32",
    "full 1": "int64",
    "full 1.5": "float32",
    "full True": "bool",
    "arange 3": "int64",
    "arange 0.5": "float32",
    "arange 3.0": "float32",
    "linspace": "float32",
    "eye": "float32",
    "rand": "float32",
    "randn": "float32",
    "randint": "int64",
    "zeros_like(i64)": "int64",
    "ones_like(f64)": "float64",
    "full_like(i64, 1.5)": "int64",
    "from_numpy f64": "float64",
    "f32.mean()": "float32",
    "i64.float().mean": "float32",
    "i64 % 2": "int64",
    "f32 % 2": "float32",
    "i64.div(i64, trunc)": "int64",
    "i64.div floor": "int64",
    "np f64 + f32 t": "float32",
    "maximum(i64,f32)": "float32",
    "clamp(i64,0.5)": "float32",
    "i64.clamp(0,1)": "int64",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dtype_matches_pytorch(name):
    assert str(_expressions()[name]().dtype) == "minigrad." + EXPECTED[name]  # PyTorch: "torch." + ...


def test_set_default_dtype_changes_python_float_construction_and_factories():
    assert mg.get_default_dtype() == mg.float32
    try:
        mg.set_default_dtype(mg.float64)
        assert mg.get_default_dtype() == mg.float64
        assert mg.tensor(1.5).dtype == mg.float64
        assert mg.tensor([1, 2.5]).dtype == mg.float64
        assert mg.zeros(2).dtype == mg.float64 and mg.randn(2).dtype == mg.float64
        assert (mg.tensor([1, 2]) / 2).dtype == mg.float64
        assert mg.tensor([1, 2]).dtype == mg.int64  # ints stay int
        assert mg.tensor(np.ones(2, np.float32)).dtype == mg.float32  # arrays keep theirs
    finally:
        mg.set_default_dtype(mg.float32)
    assert mg.tensor(1.5).dtype == mg.float32


def test_set_default_dtype_rejects_non_float():
    with pytest.raises((TypeError, ValueError)):
        mg.set_default_dtype(mg.int64)


def test_mean_of_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="mean"):
        mg.tensor([1, 2, 3]).mean()
    assert mg.tensor([1, 2, 3]).float().mean().item() == 2.0
    assert mg.tensor([1, 2, 3]).mean(dtype=mg.float64).dtype == mg.float64


def test_only_floating_tensors_may_require_grad():
    with pytest.raises(RuntimeError):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):
        mg.tensor([True]).requires_grad_()
    assert mg.tensor([1.0], requires_grad=True).requires_grad


def test_zero_dim_tensor_and_python_number_do_not_widen_float32():
    x = mg.tensor([1.0, 2.0])
    assert (x + mg.tensor(2.0, dtype=mg.float64)).dtype == mg.float32
    assert (x * 1e-3).dtype == mg.float32
    assert (x + np.float64(0.5)).dtype == mg.float32
    # A 0-d tensor of a higher category decides: int tensor + 0-d float tensor -> that tensor's dtype.
    assert (mg.tensor([1, 2]) + mg.tensor(1.5, dtype=mg.float64)).dtype == mg.float64
    assert (mg.tensor([1, 2]) + mg.tensor(1.5, dtype=mg.float16)).dtype == mg.float16
    assert (mg.tensor([True]) + mg.tensor(1, dtype=mg.int32)).dtype == mg.int32


def test_numpy_arrays_take_part_as_tensors_of_their_own_dtype():
    x = mg.tensor([1.0, 2.0])
    assert (x + np.ones(2)).dtype == mg.float64
    assert (np.ones(2) + x).dtype == mg.float64
    assert (x + np.ones(2, np.float32)).dtype == mg.float32
    assert (x * np.ones(2, np.int64)).dtype == mg.float32
    assert (mg.tensor([1, 2]) + np.ones(2, np.int32)).dtype == mg.int64
    assert isinstance(np.ones(2) + x, mg.Tensor)


def test_gradient_has_the_dtype_of_its_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    (x.double() * y).sum().backward()
    assert x.grad.dtype == mg.float32 and y.grad.dtype == mg.float64
    z = mg.tensor([1.0, 2.0], requires_grad=True)
    (z * np.ones(2)).sum().backward()  # computed in float64, gradient back in float32
    assert z.grad.dtype == mg.float32


def test_mixing_float32_and_float64_in_matmul_raises():
    with pytest.raises(RuntimeError, match="dtype"):
        mg.ones(2, 2) @ mg.ones(2, 2, dtype=mg.float64)


def test_dtype_aliases():
    assert mg.float is mg.float32 and mg.double is mg.float64
    assert mg.long is mg.int64 and mg.int is mg.int32
    assert mg.tensor([1.0]).to(mg.double).dtype == mg.float64
    assert mg.tensor([1.0]).to(dtype=mg.long).dtype == mg.int64
