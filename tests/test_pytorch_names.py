"""PyTorch's names that programs meet before any maths: devices and CUDA queries, backend
flags, AMP's GradScaler and autocast, Size, dtype printing, legacy constructors.

Plain tests state PyTorch's behaviour (as observed in torch 2.13's CPU build); the tests
marked ``torch`` check the same things against a live PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

# ---------------------------------------------------------------------------
# devices, minigrad.cuda, minigrad.accelerator, minigrad.backends


def test_cuda_queries_answer_no():
    assert mg.cuda.is_available() is False
    assert mg.cuda.device_count() == 0
    assert mg.cuda.is_initialized() is False
    assert mg.cuda.is_bf16_supported() is False
    assert mg.cuda.manual_seed(0) is None and mg.cuda.manual_seed_all(123) is None
    assert mg.cuda.seed() is None and mg.cuda.seed_all() is None and mg.cuda.empty_cache() is None
    assert mg.cuda.memory_allocated() == 0 and mg.cuda.max_memory_allocated() == 0
    assert mg.cuda.memory_reserved() == 0


def test_cuda_seed_leaves_the_cpu_stream_alone():
    mg.manual_seed(5)
    a = mg.rand(4)
    mg.manual_seed(5)
    mg.cuda.manual_seed_all(99)
    b = mg.rand(4)
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("call", [mg.cuda.synchronize, mg.cuda.current_device, mg.cuda.get_device_name,
                                  mg.cuda.get_device_properties, mg.cuda.get_device_capability,
                                  mg.cuda.initial_seed, lambda: mg.cuda.set_device(0)])
def test_cuda_calls_needing_a_gpu_raise_both_ways(call):
    # PyTorch's CPU build raises AssertionError, its CUDA build without a GPU RuntimeError.
    with pytest.raises(AssertionError, match="CUDA is not available"):
        call()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        call()


def test_cuda_tensor_refused_clearly():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.zeros(2, device="cuda")
    with pytest.raises(AssertionError, match="CUDA is not available"):
        mg.tensor([1.0], device=mg.device("cuda", 0))
    with pytest.raises(RuntimeError, match=r"CUDA is not available.*CuPy"):
        mg.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.ones(2).to("cuda:0")
    with pytest.raises(RuntimeError, match=r"CUDA is not available.*CuPy"):
        nn.Linear(2, 2).cuda()
    with pytest.raises(RuntimeError, match="'mps' is not available"):
        mg.zeros(2, device="mps")


def test_device_objects_as_pytorch():
    d = mg.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device(type='cuda', index=1)")
    assert mg.device("cuda", 1) == d and mg.device(d) == d and hash(mg.device("cuda", 1)) == hash(d)
    assert mg.device("cuda") != mg.device("cuda:0")
    assert mg.device(0) == mg.device("cuda:0")
    assert repr(mg.device("cpu")) == "device(type='cpu')" and mg.device("mps").type == "mps"
    with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
        mg.device("foo")
    for bad in ("cuda:x", "cuda:-1", "cpu:0:1"):
        with pytest.raises(RuntimeError, match="Invalid device string"):
            mg.device(bad)
    with pytest.raises(RuntimeError, match="must not include an index"):
        mg.device("cuda:0", 1)
    # The idiom every example program starts with.
    dev = mg.device("cuda" if mg.cuda.is_available() else "cpu")
    assert mg.zeros(2, device=dev).device == dev
    assert mg.zeros(2, device="cpu:0").device.type == "cpu"
    with mg.device("cpu"):
        pass


def test_tensor_device_properties():
    t = mg.zeros(2)
    assert (t.is_cuda, t.is_cpu, t.is_xpu, t.is_mps, t.is_meta) == (False, True, False, False, False)
    assert t.cpu() is t and t.device == mg.device("cpu") and repr(t.device) == "device(type='cpu')"


def test_accelerator():
    assert mg.accelerator.is_available() is False
    assert mg.accelerator.current_accelerator() is None
    assert mg.accelerator.device_count() == 0
    device = mg.accelerator.current_accelerator().type if mg.accelerator.is_available() else "cpu"
    assert device == "cpu"
    for call in (mg.accelerator.synchronize, mg.accelerator.current_device_index, mg.accelerator.empty_cache):
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
            call()


def test_backend_flags_are_settable_with_pytorchs_defaults():
    import minigrad.backends.cudnn as cudnn

    b = mg.backends
    assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled, cudnn.allow_tf32) == (False, False, True, True)
    assert cudnn.is_available() is False and cudnn.version() is None
    assert b.mps.is_available() is False and b.mps.is_built() is False and b.cuda.is_built() is False
    assert b.cuda.matmul.allow_tf32 is False and mg.get_float32_matmul_precision() == "highest"
    try:
        b.cudnn.benchmark = True
        b.cudnn.deterministic = True
        assert cudnn.benchmark is True and b.cudnn.deterministic is True
        b.cuda.matmul.allow_tf32 = True
        assert b.cuda.matmul.allow_tf32 is True and mg.get_float32_matmul_precision() == "high"
        mg.set_float32_matmul_precision("highest")
        assert b.cuda.matmul.allow_tf32 is False
        mg.set_float32_matmul_precision("medium")
        assert b.cuda.matmul.allow_tf32 is True
        with pytest.warns(UserWarning, match="has no effect"):
            mg.set_float32_matmul_precision("fast")
        assert mg.get_float32_matmul_precision() == "medium"
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            b.cuda.matmul.foo = 1
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            b.cuda.matmul.foo  # noqa: B018
    finally:
        b.cudnn.benchmark = False
        b.cudnn.deterministic = False
        mg.set_float32_matmul_precision("highest")


# ---------------------------------------------------------------------------
# AMP: GradScaler and autocast


def _step_with(scaler, steps=3):
    w = nn.Parameter(mg.tensor([1.0, 2.0]))
    opt = mg.optim.SGD([w], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = (w * w).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return w


def test_disabled_grad_scaler_is_a_pass_through():
    s = mg.amp.GradScaler(enabled=False)
    loss = mg.tensor(3.0, requires_grad=True) * 2
    assert s.scale(loss) is loss and s.scale([loss]) == [loss]
    assert s.get_scale() == 1.0 and s.is_enabled() is False and s.state_dict() == {}
    s.load_state_dict({})
    w = _step_with(s)
    assert w.tolist() == pytest.approx([1.0 * 0.8**3, 2.0 * 0.8**3])  # plain SGD: w <- w - 0.1 * 2w
    opt = mg.optim.SGD([w], lr=0.1)
    assert s.step(opt, lambda: 3.0) == 3.0  # a closure goes to optimizer.step
    assert s.unscale_(opt) is None and s.update() is None


def test_cuda_grad_scalers_without_cuda():
    with pytest.warns(FutureWarning, match="cuda.amp.GradScaler"):
        s = mg.cuda.amp.GradScaler(enabled=False)
    assert isinstance(s, mg.amp.GradScaler) and not s.is_enabled()
    with pytest.warns(UserWarning, match="cuda is not available.  Disabling"):
        s = mg.amp.GradScaler()
    assert not s.is_enabled()
    w = _step_with(s)
    assert w.tolist() == pytest.approx([1.0 * 0.8**3, 2.0 * 0.8**3])


def test_cpu_grad_scaler_scales_unscales_and_adapts():
    s = mg.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    assert s.is_enabled() and s.get_scale() == 1024.0
    w = nn.Parameter(mg.tensor([1.0, 2.0]))
    opt = mg.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    scaled = s.scale(loss)
    assert scaled.item() == 5.0 * 1024
    scaled.backward()
    assert w.grad.tolist() == [2.0 * 1024, 4.0 * 1024]
    s.unscale_(opt)
    assert w.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    assert w.tolist() == pytest.approx([0.8, 1.6])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    s.update()
    assert s.get_scale() == 1024.0 and s.state_dict()["_growth_tracker"] == 1
    # A second clean step grows the scale (growth_interval=2).
    opt.zero_grad()
    s.scale((w * w).sum()).backward()
    s.step(opt)
    s.update()
    assert s.get_scale() == 2048.0 and s.state_dict()["_growth_tracker"] == 0
    # An overflowing gradient: the step is skipped and the scale backs off.
    opt.zero_grad()
    before = w.tolist()
    s.scale((w * mg.tensor([float("inf"), 1.0])).sum()).backward()
    assert s.step(opt) is None and w.tolist() == before
    s.update()
    assert s.get_scale() == 1024.0
    assert s.state_dict() == {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                              "growth_interval": 2, "_growth_tracker": 0}
    s.update(7.0)
    assert s.get_scale() == 7.0
    t = mg.amp.GradScaler("cpu")
    t.load_state_dict(s.state_dict())
    assert t.get_scale() == 7.0
    with pytest.raises(RuntimeError, match="state dict is empty"):
        t.load_state_dict({})
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        s.step(opt, closure=lambda: 0.0)
    with pytest.raises(RuntimeError, match="did not use scaler.scale"):
        mg.amp.GradScaler("cpu").update()


def test_autocast_disabled_is_a_no_op():
    x = mg.ones(2, 2)
    with mg.autocast(device_type="cpu", enabled=False):
        assert (x @ x).dtype == mg.float32
    with mg.amp.autocast("cuda", enabled=False):
        pass
    with pytest.warns(FutureWarning, match="cuda.amp.autocast"):
        ctx = mg.cuda.amp.autocast(enabled=False)
    with ctx:
        pass

    @mg.autocast("cpu", enabled=False)
    def f(a):
        return a * 2

    assert f(x).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.warns(UserWarning, match="cuda is not available. Disabling autocast"):
        ctx = mg.autocast("cuda")
    with ctx:
        assert (x @ x).dtype == mg.float32
    with pytest.raises(NotImplementedError, match="does not autocast"):
        mg.autocast("cpu")
    with pytest.raises(ValueError, match="device_type"):
        mg.autocast(mg.device("cpu"))


@pytest.mark.torch
def test_live_cuda_and_backends_against_pytorch():
    torch = pytest.importorskip("torch")
    assert mg.cuda.is_available() == torch.cuda.is_available()
    assert mg.cuda.device_count() == torch.cuda.device_count()
    assert mg.accelerator.is_available() == torch.accelerator.is_available()
    assert mg.accelerator.current_accelerator() == torch.accelerator.current_accelerator()
    for name in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(mg.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert mg.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert mg.backends.mps.is_available() == torch.backends.mps.is_available()
    for spec in ("cpu", "cuda", "cuda:1", "mps", "meta"):
        assert repr(mg.device(spec)) == repr(torch.device(spec)) and str(mg.device(spec)) == str(torch.device(spec))
    with pytest.raises(AssertionError):
        torch.zeros(2, device="cuda")
    with pytest.raises(AssertionError):
        mg.zeros(2, device="cuda")
    t, m = torch.zeros(2), mg.zeros(2)
    for name in ("is_cuda", "is_cpu", "is_xpu", "is_mps", "is_meta"):
        assert getattr(t, name) == getattr(m, name), name


@pytest.mark.torch
def test_live_grad_scaler_against_pytorch():
    torch = pytest.importorskip("torch")

    def run(lib, overflow_at):
        w = lib.nn.Parameter(lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64))
        opt = lib.optim.SGD([w], lr=0.05)
        s = lib.amp.GradScaler("cpu", init_scale=256.0, growth_interval=3)
        trace, weights = [], []
        for i in range(8):
            opt.zero_grad()
            poison = lib.tensor([float("inf") if i in overflow_at else 1.0, 1.0, 1.0], dtype=lib.float64)
            loss = (w * w * poison).sum()
            s.scale(loss).backward()
            s.unscale_(opt)
            trace.append(w.grad.tolist())
            s.step(opt)
            s.update()
            trace.append((s.get_scale(), s.state_dict()["_growth_tracker"]))
            weights.append(w.tolist())
        return trace, weights

    (ours, our_w), (theirs, their_w) = run(mg, {2, 3}), run(torch, {2, 3})
    assert ours == theirs  # gradients, scales and growth trackers: exactly
    np.testing.assert_allclose(our_w, their_w, rtol=1e-6)  # SGD's own float32 rounding may differ


# ---------------------------------------------------------------------------
# minigrad.Size


def test_shape_and_size_are_sizes():
    x = mg.zeros(2, 3)
    for s in (x.shape, x.size()):
        assert type(s) is mg.Size and s == (2, 3) and (2, 3) == s and hash(s) == hash((2, 3))
        assert repr(s) == "minigrad.Size([2, 3])" and str(s) == "minigrad.Size([2, 3])"
    assert type(x.size(0)) is int and x.size(-1) == 3 and type(x.shape[1]) is int
    assert mg.zeros(()).shape == () and repr(mg.zeros(()).shape) == "minigrad.Size([])"
    assert mg.zeros(()).shape.numel() == 1 and x.shape.numel() == 6 and mg.zeros(0, 4).shape.numel() == 0


def test_size_tuple_behaviour_as_pytorch():
    s = mg.Size([2, 3])
    assert type(s[1:]) is mg.Size and repr(s[::-1]) == "minigrad.Size([3, 2])" and s[0] == 2
    assert type(s + (4,)) is mg.Size and repr(s + (4,)) == "minigrad.Size([2, 3, 4])"
    assert type((4,) + s) is mg.Size and repr((4,) + s) == "minigrad.Size([4, 2, 3])"
    assert repr(s + mg.Size([5])) == "minigrad.Size([2, 3, 5])"
    assert repr(s * 2) == "minigrad.Size([2, 3, 2, 3])" and type(2 * s) is mg.Size
    with pytest.raises(TypeError, match="can only concatenate tuple"):
        s + [4]
    assert isinstance(s, tuple) and list(s) == [2, 3] and s.count(2) == 1 and s.index(3) == 1
    assert repr(mg.Size()) == "minigrad.Size([])" and mg.Size().numel() == 1
    assert repr(mg.Size(np.array([2, 3]))) == "minigrad.Size([2, 3])"
    assert repr(mg.Size([mg.tensor(2), 3])) == "minigrad.Size([2, 3])"
    assert repr(mg.Size([True])) == "minigrad.Size([1])"
    with pytest.raises(TypeError, match=r"takes an iterable of 'int' \(item 0 is 'float'\)"):
        mg.Size([2.5])
    import pickle

    assert type(pickle.loads(pickle.dumps(s))) is mg.Size and pickle.loads(pickle.dumps(s)) == s
    # A Size goes wherever a shape goes.
    assert mg.zeros(s).shape == s and mg.ones(3, 2).view(s).shape == (2, 3) and mg.zeros(2, 3).reshape(s[::-1]).shape == (3, 2)


@pytest.mark.torch
def test_live_size_against_pytorch():
    torch = pytest.importorskip("torch")
    cases = [(), (3,), (2, 3), (1, 0, 4)]
    for shape in cases:
        t, m = torch.zeros(shape), mg.zeros(shape)
        assert repr(m.shape).replace("minigrad.", "torch.") == repr(t.shape)
        assert repr(m.size()) .replace("minigrad.", "torch.") == repr(t.size())
        assert m.shape.numel() == t.shape.numel()
        for other in ((7,), ()):
            assert repr(m.shape + other).replace("minigrad.", "torch.") == repr(t.shape + other)
            assert repr(other + m.shape).replace("minigrad.", "torch.") == repr(other + t.shape)
        assert repr(m.shape[1:]).replace("minigrad.", "torch.") == repr(t.shape[1:])


# ---------------------------------------------------------------------------
# dtypes


def test_dtype_prints_as_pytorch():
    assert str(mg.float32) == "minigrad.float32" and repr(mg.float64) == "minigrad.float64"
    assert str(mg.zeros(2).dtype) == "minigrad.float32" and str(mg.tensor([1]).dtype) == "minigrad.int64"
    assert repr(mg.zeros(2, dtype=mg.float64)) == "tensor([0., 0.], dtype=minigrad.float64)"
    assert repr(mg.zeros(2, dtype=mg.int32)) == "tensor([0, 0], dtype=minigrad.int32)"
    assert repr(mg.zeros(2, dtype=mg.float16)) == "tensor([0., 0.], dtype=minigrad.float16)"
    assert repr(mg.tensor([0.5, -2.25], dtype=mg.float16)).endswith("2.2500], dtype=minigrad.float16)")
    assert f"{mg.int64}" == "minigrad.int64"
    assert mg.half is mg.float16 and mg.double is mg.float64 and mg.long is mg.int64 and mg.float is mg.float32


def test_dtype_objects_work_everywhere_a_dtype_did():
    x = mg.zeros(2, dtype=mg.float64)
    assert x.dtype is mg.float64 and x.dtype == mg.float64 and x.dtype != mg.float32
    assert x.dtype == np.float64 and np.dtype(np.float64) == x.dtype and x.dtype == np.dtype("float64")
    assert mg.float32 != "float32"  # as torch.float32 != "float32"
    assert hash(mg.float32) == hash(np.dtype(np.float32)) and {np.dtype("float32"): 1}[mg.float32] == 1
    assert {mg.float32: 1, mg.float64: 2}[mg.zeros(1).dtype] == 1
    assert np.zeros(2, dtype=mg.float32).dtype == np.float32 and np.arange(3).astype(mg.int32).dtype == np.int32
    assert np.dtype(mg.int16) == np.int16 and np.issubdtype(mg.float32, np.floating)
    assert (mg.float32.is_floating_point, mg.float32.is_signed, mg.float32.is_complex, mg.float32.itemsize) == (
        True, True, False, 4)
    assert (mg.int64.is_floating_point, mg.int64.is_signed, mg.int64.itemsize) == (False, True, 8)
    assert (mg.uint8.is_signed, mg.bool.is_signed, mg.bool.itemsize, mg.float16.itemsize) == (False, False, 1, 2)
    assert mg.ones(2).to(x.dtype).dtype is mg.float64 and mg.ones(2, dtype=x.dtype).dtype is mg.float64
    assert mg.ones(2).to(np.float64).dtype is mg.float64 and mg.ones(2, dtype="float16").dtype is mg.float16
    assert mg.zeros_like(x).dtype is mg.float64 and x.new_zeros(3).dtype is mg.float64
    assert mg.get_default_dtype() is mg.float32 and type(mg.get_default_dtype()) is mg.dtype
    mg.set_default_dtype(mg.float64)
    assert mg.get_default_dtype() is mg.float64 and mg.tensor([1.5]).dtype is mg.float64
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(mg.float32)) is mg.float32 and copy.deepcopy(mg.int64) is mg.int64
    # A numpy dtype with no PyTorch alias still gets a minigrad dtype.
    assert str(mg.from_numpy(np.zeros(2, np.uint16)).dtype) == "minigrad.uint16"


def test_float16_tensors():
    x = mg.tensor([1.0, 2.0], dtype=mg.half)
    assert x.dtype is mg.float16 and x.is_floating_point() and x.element_size() == 2
    assert (x * 2).dtype is mg.float16 and (x + mg.ones(2)).dtype is mg.float32
    assert x.half() is x and mg.ones(2).half().dtype is mg.float16 and x.float().dtype is mg.float32
    w = mg.tensor([1.0, 2.0], dtype=mg.float16, requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.dtype is mg.float16 and w.grad.tolist() == [2.0, 4.0]


@pytest.mark.torch
def test_live_dtypes_against_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short", "int32",
                 "int", "int64", "long", "uint8", "bool", "bfloat16"):
        ours, theirs = getattr(mg, name), getattr(torch, name)
        assert str(ours).replace("minigrad.", "torch.") == str(theirs), name
        assert (ours.is_floating_point, ours.is_signed, ours.is_complex, ours.itemsize) == (
            theirs.is_floating_point, theirs.is_signed, theirs.is_complex, theirs.itemsize), name
    for dt in ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"):
        t, m = torch.zeros(2, dtype=getattr(torch, dt)), mg.zeros(2, dtype=getattr(mg, dt))
        assert repr(m).replace("minigrad.", "torch.") == repr(t), dt
    t, m = torch.tensor([0.1, 6e4, -3.25], dtype=torch.float16), mg.tensor([0.1, 6e4, -3.25], dtype=mg.float16)
    np.testing.assert_array_equal(m.numpy(), t.numpy())
    np.testing.assert_array_equal((m * 3 + 1).numpy(), (t * 3 + 1).numpy())


# ---------------------------------------------------------------------------
# legacy constructors, Tensor.type, narrow


def test_Tensor_legacy_constructor():
    t = mg.Tensor(2, 3)  # sizes: uninitialised (zeros in minigrad), default float dtype
    assert t.shape == (2, 3) and t.dtype is mg.float32 and not t.requires_grad and t.grad_fn is None
    assert mg.Tensor(3).shape == (3,) and mg.Tensor(np.int64(3)).shape == (3,)
    assert mg.Tensor(mg.Size([2, 3])).shape == (2, 3) and mg.Tensor(mg.zeros(4, 5).shape).shape == (4, 5)
    assert repr(mg.Tensor()) == "tensor([])" and mg.Tensor().shape == (0,)
    assert repr(mg.Tensor([1, 2])) == "tensor([1., 2.])"  # data: the default float dtype
    assert repr(mg.Tensor((2, 3))) == "tensor([2., 3.])"  # a plain tuple is data, a Size is sizes
    assert mg.Tensor([[1, 2], [3, 4]]).tolist() == [[1.0, 2.0], [3.0, 4.0]] and mg.Tensor([True]).tolist() == [1.0]
    assert mg.Tensor(np.array([1, 2])).dtype is mg.float32 and mg.Tensor(np.array(2.5)).shape == ()
    assert mg.Tensor(range(3)).tolist() == [0.0, 1.0, 2.0] and mg.Tensor([], device="cpu").shape == (0,)
    mg.set_default_dtype(mg.float64)
    assert mg.Tensor(2).dtype is mg.float64 and mg.Tensor([1]).dtype is mg.float64
    assert mg.FloatTensor(2).dtype is mg.float32  # typed constructors keep their dtype
    mg.set_default_dtype(mg.float32)
    # A tensor argument: an alias sharing memory and graph.
    src = mg.tensor([1.0, 2.0], requires_grad=True)
    alias = mg.Tensor(src)
    assert alias is not src and alias.requires_grad and np.shares_memory(alias.numpy(), src.numpy())
    (alias * 3).sum().backward()
    assert src.grad.tolist() == [3.0, 3.0]
    assert mg.Tensor(mg.tensor([1, 2])).dtype is mg.int64
    # A Linear layer's weight made PyTorch's old way.
    w = nn.Parameter(mg.Tensor(4, 3))
    assert w.shape == (4, 3) and w.requires_grad and w.dtype is mg.float32


def test_Tensor_legacy_constructor_errors():
    with pytest.raises(RuntimeError, match=r"negative dimension -1: \[2, -1\]"):
        mg.Tensor(2, -1)
    with pytest.raises(TypeError, match="data must be a sequence \\(got float\\)"):
        mg.Tensor(2.5)
    with pytest.raises(TypeError, match="got bool"):
        mg.Tensor(True)
    with pytest.raises(TypeError, match="data must be a sequence"):
        mg.Tensor(np.float32(2.5))
    with pytest.raises(TypeError, match="invalid combination of arguments - got \\(list, list\\)"):
        mg.Tensor([1], [2])
    with pytest.raises(TypeError, match="invalid combination"):
        mg.Tensor(2, 3.0)
    with pytest.raises(TypeError, match="str"):
        mg.Tensor("a")
    with pytest.raises(TypeError, match="dtype"):
        mg.Tensor(2, dtype=mg.float64)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.Tensor([1, 2], device="cuda")
    with pytest.raises(TypeError, match="expected a tensor of dtype minigrad.float32"):
        mg.FloatTensor(mg.tensor([1, 2]))


def test_typed_legacy_constructors():
    cases = [(mg.FloatTensor, mg.float32), (mg.DoubleTensor, mg.float64), (mg.HalfTensor, mg.float16),
             (mg.LongTensor, mg.int64), (mg.IntTensor, mg.int32), (mg.ShortTensor, mg.int16),
             (mg.CharTensor, mg.int8), (mg.ByteTensor, mg.uint8), (mg.BoolTensor, mg.bool)]
    for cls, dt in cases:
        assert cls(2, 3).dtype is dt and cls(2, 3).shape == (2, 3) and cls().shape == (0,)
        assert cls([1, 0]).dtype is dt and cls([1, 0]).tolist() in ([1, 0], [True, False])
        assert isinstance(mg.zeros(2, dtype=dt), cls) and isinstance(cls([1]), mg.Tensor)
        assert type(cls([1])) is mg.Tensor and cls.dtype is dt
        assert repr(cls) == f"<class 'minigrad.{cls.__name__}'>"
    assert mg.LongTensor([1.7, -2.7]).tolist() == [1, -2]  # truncation toward zero, as PyTorch
    assert not isinstance(mg.zeros(2), mg.DoubleTensor) and not isinstance([1.0], mg.FloatTensor)
    assert isinstance(nn.Parameter(mg.zeros(2)), mg.FloatTensor)
    x = mg.zeros(2, dtype=mg.int64)
    assert mg.LongTensor(x).tolist() == [0, 0]


def test_tensor_type():
    names = {mg.float32: "FloatTensor", mg.float64: "DoubleTensor", mg.float16: "HalfTensor",
             mg.int64: "LongTensor", mg.int32: "IntTensor", mg.int16: "ShortTensor", mg.int8: "CharTensor",
             mg.uint8: "ByteTensor", mg.bool: "BoolTensor"}
    for dt, name in names.items():
        assert mg.zeros(1, dtype=dt).type() == f"minigrad.{name}"
    x = mg.tensor([1.5, -2.5], requires_grad=True)
    assert x.type(mg.float32) is x and x.type("minigrad.FloatTensor") is x and x.type(mg.FloatTensor) is x
    for target in (mg.float64, mg.DoubleTensor, "minigrad.DoubleTensor", "torch.DoubleTensor"):
        y = x.type(target)
        assert y.dtype is mg.float64 and y.tolist() == [1.5, -2.5]
    y = x.type(mg.float64)
    y.sum().backward()  # the cast is differentiable, as PyTorch's
    assert x.grad.tolist() == [1.0, 1.0] and x.grad.dtype is mg.float32
    assert x.type("torch.LongTensor").tolist() == [1, -2]
    with pytest.raises(ValueError, match="invalid type: 'float64'"):
        x.type("float64")
    with pytest.raises(ValueError, match="invalid type"):
        x.type("minigrad.NopeTensor")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        x.type("torch.cuda.FloatTensor")


def test_narrow_is_a_view():
    x = mg.arange(12.0).reshape(3, 4)
    assert x.narrow(1, 1, 2).tolist() == [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]
    assert x.narrow(0, -1, 1).tolist() == [[8.0, 9.0, 10.0, 11.0]]
    assert mg.narrow(x, -1, mg.tensor(2), 2).tolist() == [[2.0, 3.0], [6.0, 7.0], [10.0, 11.0]]
    assert x.narrow(1, 4, 0).shape == (3, 0)
    y = x.narrow(1, 1, 2)
    y[0, 0] = 100.0
    assert x[0, 1].item() == 100.0  # a view: writes reach the base
    w = mg.arange(6.0, dtype=mg.float64).requires_grad_()
    w.narrow(0, 2, 3).sum().backward()
    assert w.grad.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert mg.autograd.gradcheck(lambda t: t.narrow(0, 1, 2) * t.narrow(0, 3, 2), (w,))
    with pytest.raises(RuntimeError, match=r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)"):
        x.narrow(1, 3, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.narrow(2, 0, 1)
    with pytest.raises(IndexError, match=r"start out of range \(expected to be in range of \[-4, 4\], but got -5\)"):
        x.narrow(1, -5, 1)
    with pytest.raises(RuntimeError, match="length must be non-negative"):
        x.narrow(1, 0, -1)
    with pytest.raises(RuntimeError, match="0-dim"):
        mg.tensor(1.0).narrow(0, 0, 1)


@pytest.mark.torch
def test_live_legacy_constructors_type_and_narrow_against_pytorch():
    torch = pytest.importorskip("torch")
    for args in ((2, 3), (3,), (), ([1, 2],), ((2, 3),), ([[1, 2], [3, 4]],), ([True, False],)):
        t, m = torch.Tensor(*args), mg.Tensor(*args)
        assert tuple(t.shape) == tuple(m.shape) and str(t.dtype)[6:] == str(m.dtype)[9:], args
        if args and not all(isinstance(a, int) for a in args):
            assert t.tolist() == m.tolist(), args
    assert tuple(torch.Tensor(torch.Size([2, 3])).shape) == tuple(mg.Tensor(mg.Size([2, 3])).shape)
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
                 "CharTensor", "ByteTensor", "BoolTensor"):
        tc, mc = getattr(torch, name), getattr(mg, name)
        assert str(tc([1, 0]).dtype)[6:] == str(mc([1, 0]).dtype)[9:], name
        assert tc([1, 0]).tolist() == mc([1, 0]).tolist() and tc(2, 3).shape == mc(2, 3).shape
        assert tc([1.7, 0]).type() == "torch." + name and mc([1.7, 0]).type() == "minigrad." + name
        assert tc([1.7, 2.2]).tolist() == mc([1.7, 2.2]).tolist(), name
        for dt in ("float32", "float64", "int64", "bool"):
            assert isinstance(torch.zeros(2, dtype=getattr(torch, dt)), tc) == isinstance(
                mg.zeros(2, dtype=getattr(mg, dt)), mc), (name, dt)
    x, y = torch.arange(24.0).reshape(2, 3, 4), mg.arange(24.0).reshape(2, 3, 4)
    for dim, start, length in ((0, 0, 1), (1, 1, 2), (-1, -3, 2), (2, 4, 0), (1, -1, 1)):
        assert x.narrow(dim, start, length).tolist() == y.narrow(dim, start, length).tolist()
    for dim, start, length in ((1, 2, 2), (3, 0, 1), (2, -5, 1), (2, 5, 0)):
        with pytest.raises(Exception) as theirs:
            x.narrow(dim, start, length)
        with pytest.raises(Exception) as ours:
            y.narrow(dim, start, length)
        assert type(ours.value) is type(theirs.value) and str(ours.value).endswith(str(theirs.value))  # ours names the op


# ---------------------------------------------------------------------------
# bfloat16 (optional: ml_dtypes)


def test_bfloat16_without_ml_dtypes_says_what_to_install(monkeypatch):
    import sys

    from minigrad import dtypes

    assert str(mg.bfloat16) == "minigrad.bfloat16" and mg.bfloat16.is_floating_point  # no package needed
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # as if not installed
    with pytest.raises(ImportError, match=r"minigrad.bfloat16 needs the optional package ml_dtypes.*\[bfloat16\]"):
        dtypes._load_lazy("bfloat16")


def test_bfloat16_tensors():
    pytest.importorskip("ml_dtypes")
    t = mg.tensor([1.5, -2.25, 3.14159], dtype=mg.bfloat16)
    assert t.dtype is mg.bfloat16 and t.is_floating_point() and t.element_size() == 2
    assert t.tolist() == [1.5, -2.25, 3.140625]  # rounded to bfloat16's 8-bit mantissa
    assert repr(t).endswith("3.1406], dtype=minigrad.bfloat16)") and t.type() == "minigrad.BFloat16Tensor"
    assert (t * 2).dtype is mg.bfloat16 and (t + 1).dtype is mg.bfloat16 and (t / t).dtype is mg.bfloat16
    assert (t + mg.ones(3)).dtype is mg.float32 and t.exp().dtype is mg.bfloat16
    assert t.float().dtype is mg.float32 and mg.ones(2).bfloat16().dtype is mg.bfloat16
    assert isinstance(t, mg.BFloat16Tensor) and mg.BFloat16Tensor([1, 2]).dtype is mg.bfloat16
    assert mg.zeros(2, dtype=mg.bfloat16).dtype == mg.bfloat16 and mg.bfloat16 == t.numpy().dtype
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not differentiate through bfloat16"):
        x.to(mg.bfloat16)
    with pytest.raises(RuntimeError, match="does not differentiate through bfloat16"):
        t.requires_grad_()
    with mg.no_grad():
        assert x.to(mg.bfloat16).dtype is mg.bfloat16


@pytest.mark.torch
def test_live_bfloat16_against_pytorch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("ml_dtypes")
    vals = [1.5, -2.25, 3.14159, 1e-3, 65504.0, 1e30]
    t, m = torch.tensor(vals, dtype=torch.bfloat16), mg.tensor(vals, dtype=mg.bfloat16)
    assert t.tolist() == m.tolist()
    for f in (lambda a: a * 3, lambda a: a + 1.5, lambda a: a.exp(), lambda a: -a, lambda a: a / 7, lambda a: a.sum()):
        assert f(t).float().tolist() == f(m).float().tolist()
        assert str(f(t).dtype)[6:] == str(f(m).dtype)[9:]
    np.testing.assert_array_equal(m.float().numpy(), t.float().numpy())


def test_save_and_load_keep_sizes_and_dtypes(tmp_path):
    x = mg.zeros(2, 3, dtype=mg.float64)
    mg.save({"shape": x.shape, "dtype": x.dtype, "plain": (2, 3)}, tmp_path / "meta.pt")
    back = mg.load(tmp_path / "meta.pt")
    assert type(back["shape"]) is mg.Size and back["shape"] == (2, 3) and back["dtype"] is mg.float64
    assert type(back["plain"]) is tuple


def test_other_numpy_dtypes_do_not_replace_the_canonical_ones():
    t = mg.from_numpy(np.zeros(2, ">f4"))  # big-endian float32: numpy calls it float32 too
    assert str(t.dtype) == "minigrad.float32"
    assert mg.zeros(1).dtype is mg.float32 and mg.dtypes._BY_NAME["float32"] is mg.float32


def test_narrow_takes_axis_as_pytorch():
    x = mg.arange(6.0).reshape(2, 3)
    assert x.narrow(axis=1, start=1, length=2).tolist() == [[1.0, 2.0], [4.0, 5.0]]
    assert mg.narrow(x, axis=0, start=1, length=1).tolist() == [[3.0, 4.0, 5.0]]
    with pytest.raises(TypeError, match="'start' and 'length'"):
        x.narrow(0)
