"""Devices, PyTorch's rules at the boundary: every rule checked on "cuda" backed by the CuPy-shaped
stand-in (tests/fakecuda.py, installed per test by the ``fakecuda`` fixture), in the plain CPU run.

No GPU is needed: the stand-in refuses everything CuPy refuses (host operands, ``np.asarray``,
``flags.writeable``), so a rule that leaks a host array or a numpy call fails here too.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from devices import host

import minigrad as mg
from minigrad import nn

MIXED = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"


def test_import_never_imports_cupy():
    code = "import sys, minigrad; minigrad.ones(2) + 1; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_device_objects_and_tensor_devices(fakecuda):
    assert mg.device("cuda") == mg.device("cuda") and str(mg.device("cuda:0")) == "cuda:0"
    x = mg.tensor([1.0, 2.0], device="cuda")
    assert x.device == mg.device("cuda", 0) and str(x.device) == "cuda:0"
    assert x.is_cuda and not x.is_cpu
    y = mg.ones(2)
    assert y.device == mg.device("cpu") and not y.is_cuda and y.is_cpu
    assert type(x._data) is fakecuda.ndarray  # the data is the stand-in's array, not numpy's
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        mg.zeros(1, device="cuda:1")


def test_every_factory_takes_device(fakecuda):
    made = [
        mg.tensor([1, 2], device="cuda"), mg.zeros(2, 3, device="cuda"), mg.ones(2, device="cuda"),
        mg.full((2,), 3.0, device="cuda"), mg.empty(2, device="cuda"), mg.rand(3, device="cuda"),
        mg.randn(3, device="cuda"), mg.randint(0, 5, (3,), device="cuda"), mg.randperm(4, device="cuda"),
        mg.arange(5, device="cuda"), mg.linspace(0, 1, 5, device="cuda"), mg.logspace(0, 1, 3, device="cuda"),
        mg.eye(3, device="cuda"), mg.normal(0.0, 1.0, (2,), device="cuda"), mg.as_tensor([1.0], device="cuda"),
        mg.Tensor(2, 3, device="cuda"), mg.FloatTensor([1.0], device="cuda"),
    ]
    for t in made:
        assert t.is_cuda, t
    x = mg.randn(2, 3, device="cuda")
    for t in (mg.zeros_like(x), mg.ones_like(x), mg.full_like(x, 2.0), mg.empty_like(x), mg.rand_like(x),
              mg.randn_like(x), mg.randint_like(x, 3), x.new_zeros(2), x.new_ones(2), x.new_full((2,), 1.0),
              x.new_tensor([1.0]), mg.bernoulli(mg.full((3,), 0.5, device="cuda")),
              mg.multinomial(mg.ones(4, device="cuda"), 2), mg.normal(x, 1.0)):
        assert t.is_cuda, t  # *_like, new_* and tensor-argument factories stay on their tensor's device
    assert mg.zeros_like(x, device="cpu").is_cpu
    np.testing.assert_array_equal(mg.arange(5, device="cuda").cpu().numpy(), np.arange(5))


def test_random_factories_on_cuda_draw_the_cuda_stream(fakecuda):
    """A CUDA generator runs the CPU generator's algorithm on the host: after the same seed the
    numbers agree with the CPU's (PyTorch's CUDA Philox stream is not reproduced)."""
    mg.manual_seed(0)
    cpu = mg.randn(5)
    mg.manual_seed(0)
    gpu = mg.randn(5, device="cuda")
    np.testing.assert_array_equal(host(gpu), cpu.numpy())
    mg.cuda.manual_seed(3)
    a = mg.rand(4, device="cuda")
    mg.cuda.manual_seed_all(3)
    np.testing.assert_array_equal(host(mg.rand(4, device="cuda")), host(a))
    assert mg.cuda.initial_seed() == 3
    g = mg.Generator("cpu")
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        mg.rand(2, device="cuda", generator=g)
    assert mg.Generator("cuda").device == mg.device("cuda", 0)


def test_to_cuda_cpu_and_back(fakecuda):
    x = mg.tensor([[1.0, -2.0], [3.0, 4.0]])
    c = x.to("cuda")
    assert c.is_cuda and x.is_cpu and c.cuda() is c and x.cpu() is x
    assert x.cuda().is_cuda and x.cuda(0).is_cuda and x.to(mg.device("cuda", 0)).is_cuda
    assert c.cpu().is_cpu and c.to("cpu").is_cpu
    np.testing.assert_array_equal(c.cpu().numpy(), x.numpy())
    d = x.to("cuda", mg.float64)
    assert d.is_cuda and d.dtype == mg.float64
    assert x.to(c).is_cuda and c.to(x).is_cpu  # to(other): other's dtype and device, as PyTorch
    assert c.to("cuda") is c


def test_to_is_differentiable_across_devices(fakecuda):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.to("cuda") ** 2).sum()
    assert y.is_cuda and y.grad_fn is not None
    y.backward()
    assert x.grad.is_cpu  # the gradient flows back to the CPU tensor
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    w = mg.tensor([0.5, -1.0], device="cuda", requires_grad=True)
    z = (w.cpu() * mg.tensor([2.0, 3.0])).sum()
    z.backward()
    assert w.grad.is_cuda
    np.testing.assert_allclose(host(w.grad), [2.0, 3.0])
    # higher order: the copy's VJP is itself a copy, so create_graph works through it
    x.grad = None
    (g,) = mg.autograd.grad((x.to("cuda") ** 3).sum(), x, create_graph=True)
    (gg,) = mg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


def test_mixing_devices_raises_pytorch_error(fakecuda):
    a = mg.ones(3, device="cuda")
    b = mg.ones(3)
    for f in (lambda: a + b, lambda: b + a, lambda: a * b, lambda: mg.cat([a, b]), lambda: mg.cat([b, a]),
              lambda: mg.where(a > 0, a, b), lambda: a @ b, lambda: mg.maximum(b, a)):
        with pytest.raises(RuntimeError) as e:
            f()
        assert str(e.value) == MIXED


def test_numpy_array_with_cuda_tensor_raises(fakecuda):
    a = mg.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="same device"):
        a + np.ones(3)
    with pytest.raises(RuntimeError, match="same device"):
        np.ones(3, dtype=np.float32) * a
    assert (a + 1).is_cuda and (2.0 * a).is_cuda  # Python numbers are fine, as in PyTorch
    assert (mg.arange(3, device="cuda") + 1).is_cuda  # (an integer tensor promotes through a constant)


def test_numpy_of_cuda_tensor_raises_typeerror(fakecuda):
    a = mg.ones(2, device="cuda")
    msg = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory "
           "first.")
    with pytest.raises(TypeError) as e:
        a.numpy()
    assert str(e.value) == msg
    with pytest.raises(TypeError, match="Tensor.cpu"):
        np.asarray(a)


def test_item_tolist_printing_go_through_host(fakecuda):
    a = mg.tensor([[1.5, 2.0]], device="cuda")
    assert a.tolist() == [[1.5, 2.0]] and a[0, 1].item() == 2.0 and float(a.sum()) == 3.5
    assert repr(a) == "tensor([[1.5000, 2.0000]], device='cuda:0')"
    assert repr(mg.tensor([1, 2], device="cuda", dtype=mg.int32)) == \
        "tensor([1, 2], device='cuda:0', dtype=minigrad.int32)"
    assert repr(a.requires_grad_()) == "tensor([[1.5000, 2.0000]], device='cuda:0', requires_grad=True)"
    assert bool(mg.tensor([True], device="cuda"))


def test_save_and_load_with_map_location(fakecuda, tmp_path):
    x = mg.tensor([1.0, 2.0], device="cuda")
    state = {"w": x, "b": mg.tensor([3.0])}
    mg.save(state, tmp_path / "s")
    back = mg.load(tmp_path / "s")
    assert back["w"].is_cuda and back["b"].is_cpu  # each tensor back on the device it was saved from
    np.testing.assert_array_equal(host(back["w"]), [1.0, 2.0])
    cpu = mg.load(tmp_path / "s", map_location="cpu")
    assert cpu["w"].is_cpu and cpu["b"].is_cpu
    moved = mg.load(tmp_path / "s", map_location={"cpu": "cuda:0"})
    assert moved["w"].is_cuda and moved["b"].is_cuda
    buf = io.BytesIO()
    mg.save(x, buf)
    buf.seek(0)
    assert mg.load(buf, map_location=mg.device("cpu")).is_cpu


def test_module_to_keeps_parameter_identity_and_optimizer(fakecuda):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    params = list(model.parameters())
    opt = mg.optim.Adam(model.parameters(), lr=0.1)  # built before the move
    assert model.to("cuda") is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.is_cuda for p in model.parameters())
    x = mg.randn(5, 3, device="cuda")
    before = [host(p).copy() for p in params]
    loss = model(x).pow(2).mean()
    loss.backward()
    assert all(p.grad.is_cuda for p in params)
    opt.step()
    for p, b in zip(params, before):
        assert p.is_cuda and not np.allclose(host(p), b)
    for state in opt.state.values():  # optimizer state lives on the parameter's device
        assert state["exp_avg"].is_cuda and state["exp_avg_sq"].is_cuda
    model.cpu()
    assert all(p.is_cpu for p in params) and model(mg.randn(1, 3)).is_cpu
    assert model.cuda() is model and params[0].is_cuda


def test_layers_take_device_and_batchnorm_buffers_move(fakecuda):
    lin = nn.Linear(2, 3, device="cuda")
    assert lin.weight.is_cuda and lin.bias.is_cuda
    bn = nn.BatchNorm1d(3).to("cuda")
    assert bn.running_mean.is_cuda
    out = bn(lin(mg.randn(4, 2, device="cuda")))
    assert out.is_cuda and bn.running_mean.is_cuda


def test_load_state_dict_from_cpu_checkpoint_into_cuda_model(fakecuda):
    src = nn.Linear(2, 2)
    dst = nn.Linear(2, 2).to("cuda")
    dst.load_state_dict(src.state_dict())
    assert dst.weight.is_cuda
    np.testing.assert_array_equal(host(dst.weight), src.weight.detach().numpy())


def test_out_of_range_indices_raise_on_cuda(fakecuda):
    """CuPy wraps an out-of-range index around silently (the stand-in too): minigrad checks."""
    a = mg.arange(4.0, device="cuda")
    assert a[mg.tensor([-1, 0], device="cuda")].tolist() == [3.0, 0.0]
    for bad in (mg.tensor([4], device="cuda"), mg.tensor([-5], device="cuda"), [0, 9], np.array([7])):
        with pytest.raises(IndexError, match="out of bounds"):
            a[bad]
    with pytest.raises(RuntimeError, match="out of bounds"):
        a.gather(0, mg.tensor([5], device="cuda"))
    with pytest.raises(IndexError, match="out of range"):
        nn.functional.embedding(mg.tensor([3], device="cuda"), mg.ones(3, 2, device="cuda"))
    with pytest.raises(IndexError, match="out of bounds"):
        nn.functional.nll_loss(mg.zeros(2, 3, device="cuda"), mg.tensor([0, 3], device="cuda"))


def test_cpu_index_for_cuda_tensor_and_cross_device_copy(fakecuda):
    a = mg.arange(5.0, device="cuda")
    assert a[mg.tensor([4, 1])].tolist() == [4.0, 1.0]  # a CPU index tensor, as PyTorch allows
    assert a[np.array([True, False, True, False, False])].tolist() == [0.0, 2.0]
    b = mg.zeros(3, device="cuda")
    b.copy_(mg.tensor([1.0, 2.0, 3.0]))  # copy_ crosses devices, as PyTorch's
    assert b.is_cuda and b.tolist() == [1.0, 2.0, 3.0]
    c = mg.zeros(3)
    c.copy_(b)
    assert c.tolist() == [1.0, 2.0, 3.0]
    b[1] = mg.tensor(9.0)
    assert b.tolist() == [1.0, 9.0, 3.0]


def test_no_read_only_arrays_on_cuda_but_expanded_views_still_refuse_writes(fakecuda):
    x = mg.ones(1, device="cuda").expand(3)
    with pytest.raises(RuntimeError, match="expanded view"):
        x.add_(1.0)
    w = mg.ones(2, device="cuda", requires_grad=True)
    y = (w * 2).sum()
    y.backward()
    y2 = (w * 2).sum()
    y2.backward()  # accumulation into .grad works without read-only marks
    assert w.grad.tolist() == [4.0, 4.0]


def test_erf_on_cuda_uses_the_device_special_function(fakecuda):
    x = mg.tensor([-1.0, 0.0, 0.5], dtype=mg.float64)
    np.testing.assert_allclose(host(x.to("cuda").erf()), x.erf().numpy(), rtol=1e-12)


def test_cuda_namespace(fakecuda):
    assert mg.cuda.is_available() and mg.cuda.device_count() == 1 and mg.cuda.is_initialized()
    assert mg.cuda.current_device() == 0
    mg.cuda.synchronize()
    assert mg.accelerator.is_available() and mg.accelerator.current_accelerator() == mg.device("cuda")
    assert mg.backends.cuda.is_built() in (True, False) and mg.backends.cudnn.enabled  # the torch flags stay


def test_cuda_namespace_without_cupy():
    """The plain CPU run (no CuPy in CI): CUDA reports unavailable and making a tensor there raises."""
    from minigrad.backends import _registry

    if _registry.loaded("cuda") is not None:
        pytest.skip("a cuda backend is installed in this run")
    assert not mg.cuda.is_available() and mg.cuda.device_count() == 0 and not mg.accelerator.is_available()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.zeros(1, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.cuda.synchronize()


def test_the_stand_in_refuses_what_cupy_refuses(fakecuda):
    """The stand-in is only evidence if it refuses host data, numpy calls and read-only flags."""
    xp = fakecuda.xp
    a = xp.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(TypeError):
        a + np.ones(2)
    with pytest.raises(AttributeError):
        a.flags.writeable  # noqa: B018
    for name in ("errstate", "frompyfunc"):
        assert not hasattr(xp, name)
    assert not hasattr(xp.add, "at")
    assert not isinstance(a, np.ndarray)
    assert a[xp.asarray([5])].tolist() == [2.0]  # wraps silently, as CuPy (minigrad must check)
    gen = xp.random.default_rng(0)
    assert hasattr(gen, "standard_normal") and not hasattr(gen, "normal") and not hasattr(gen, "permutation")


def test_equal_and_allclose_on_cuda(fakecuda):
    a = mg.tensor([1.0, 2.0], device="cuda")
    assert a.equal(a.clone()) and a.allclose(a + 1e-9) and not a.equal(a + 1)
    with pytest.raises(RuntimeError, match="same device"):
        a.equal(mg.tensor([1.0, 2.0]))
