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
    with pytest.raises(RuntimeError, match=r"Tensor.cuda\(\).*CUDA is not available"):
        mg.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.ones(2).to("cuda:0")
    with pytest.raises(RuntimeError, match=r"Module.cuda\(\).*CUDA is not available"):
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
