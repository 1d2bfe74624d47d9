"""nn.Module and nn.Parameter behaviour: registration, traversal, state dicts, modes, dtype moves, repr."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)
        self.scale = nn.Parameter(minigrad.ones(1))
        self.register_buffer("steps", minigrad.zeros(()))
        self.register_buffer("scratch", minigrad.zeros(2), persistent=False)
        self.plain = 5

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x)))) * self.scale


# -- Parameter ------------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(minigrad.tensor([1.0, 2.0]))
    assert isinstance(p, minigrad.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not nn.Parameter(minigrad.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])
    assert nn.Parameter().shape == (0,)


def test_parameter_shares_the_tensors_array_and_survives_deepcopy_and_pickle():
    t = minigrad.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert np.shares_memory(p.numpy(), t.numpy())
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and not np.shares_memory(q.numpy(), p.numpy())
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.requires_grad
    np.testing.assert_array_equal(r.numpy(), p.numpy())


def test_parameter_rejects_integer_data():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(minigrad.tensor([1, 2]))


# -- registration ---------------------------------------------------------------------------------

def test_attribute_assignment_registers_parameters_modules_and_buffers():
    m = Net()
    assert list(m._parameters) == ["scale"]
    assert list(m._modules) == ["fc1", "bn", "fc2"]
    assert list(m._buffers) == ["steps", "scratch"]
    assert m.plain == 5 and "plain" in m.__dict__
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in m.named_buffers()] == [
        "steps", "scratch", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in m.named_children()] == ["fc1", "bn", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert len(list(m.modules())) == 4 and len(list(m.children())) == 3
    assert len(list(m.parameters())) == 7 and len(list(m.buffers())) == 5
    assert "fc1" in dir(m) and "scale" in dir(m) and "steps" in dir(m)


def test_reassignment_moves_between_kinds_and_none_is_kept():
    m = Net()
    m.fc1 = None
    assert "fc1" in m._modules and m.fc1 is None
    assert [n for n, _ in m.named_modules()] == ["", "bn", "fc2"]
    m.scale = None
    assert m.scale is None and "scale" in m._parameters
    assert "scale" not in m.state_dict()
    m.scale = nn.Parameter(minigrad.ones(2))
    m.steps = minigrad.ones(())
    assert m._buffers["steps"].item() == 1.0
    m.plain = nn.Linear(1, 1)  # a plain attribute becomes a sub-module
    assert "plain" in m._modules and "plain" not in m.__dict__
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = minigrad.ones(2)
    with pytest.raises(TypeError, match="buffer 'steps'"):
        m.steps = 3
    del m.fc2
    assert "fc2" not in m._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'fc2'"):
        _ = m.fc2


def test_register_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", minigrad.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("w", minigrad.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("b", 3)
    m.x = 1
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("x", minigrad.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("y", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minigrad.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameters_are_listed_once():
    m = nn.Module()
    a = nn.Linear(2, 2)
    m.a = a
    m.b = a
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_modules()] == ["", "a"]
    assert list(m.state_dict().keys()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4


def test_forward_missing_and_hooks():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)
    lin = nn.Linear(2, 2)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out + 1)
    y = lin(minigrad.ones(3, 2))
    np.testing.assert_allclose(y.numpy(), np.broadcast_to(lin.bias.numpy() + 1, (3, 2)), rtol=1e-6)
    assert seen == [(3, 2)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(minigrad.zeros(1, 2)).numpy()[0], lin.bias.numpy(), rtol=1e-6)


def test_get_submodule_parameter_buffer():
    m = nn.Sequential(Net())
    assert m.get_submodule("0.fc1") is m[0].fc1
    assert m.get_parameter("0.fc1.weight") is m[0].fc1.weight
    assert m.get_buffer("0.bn.running_mean") is m[0].bn.running_mean
    with pytest.raises(AttributeError):
        m.get_submodule("0.nope")


# -- modes, grads, apply -------------------------------------------------------------------------

def test_train_eval_propagate():
    m = Net()
    assert m.training and m.bn.training
    assert m.eval() is m
    assert not m.training and not m.bn.training and not m.fc1.training
    m.train()
    assert m.bn.training
    with pytest.raises(ValueError):
        m.train("yes")


def test_zero_grad_and_requires_grad():
    m = Net()
    m(minigrad.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    grads = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    assert all(p.grad is g for p, g in zip(m.parameters(), grads))  # zeroed in place
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_apply_visits_children_first():
    order = []
    m = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_weights(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)

    m.apply(init_weights)
    assert m[0].weight.item() == 0.5


def test_double_float_to_keep_parameter_objects():
    m = Net()
    params = list(m.parameters())
    m(minigrad.randn(5, 4)).sum().backward()
    assert m.double() is m
    assert all(a is b for a, b in zip(params, m.parameters()))
    assert all(p.dtype == minigrad.float64 for p in m.parameters())
    assert all(p.grad.dtype == minigrad.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == minigrad.float64
    assert m.bn.num_batches_tracked.dtype == minigrad.int64  # integer buffers are left alone
    m.to(minigrad.float32)
    assert all(p.dtype == minigrad.float32 for p in m.parameters())
    m.to("cpu").to(device="cpu", dtype=minigrad.float64).cpu()
    assert all(a is b for a, b in zip(params, m.parameters())) and params[0].dtype == minigrad.float64
    m.float()
    assert params[0].dtype == minigrad.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(minigrad.int64)
    with pytest.raises(Exception):  # noqa: B017 - an unavailable device is refused
        m.to("cuda")


def test_optimizer_style_update_after_double_reaches_the_module():
    m = nn.Linear(2, 1)
    w = m.weight
    m.double()
    with minigrad.no_grad():
        w -= 1.0
    np.testing.assert_allclose(m.weight.numpy(), w.numpy())
    assert m(minigrad.ones(1, 2, dtype=minigrad.float64)).dtype == minigrad.float64


# -- state dict ----------------------------------------------------------------------------------

def test_state_dict_keys_values_and_detached_sharing():
    m = Net()
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "steps", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean",
                        "bn.running_var", "bn.num_batches_tracked", "fc2.weight", "fc2.bias"]
    assert "scratch" not in sd  # non-persistent
    assert not any(v.requires_grad for v in sd.values())
    assert all(type(v) is minigrad.Tensor for v in sd.values())
    assert np.shares_memory(sd["fc1.weight"].numpy(), m.fc1.weight.numpy())
    kv = m.state_dict(keep_vars=True)
    assert kv["fc1.weight"] is m.fc1.weight
    assert list(m.state_dict(prefix="model.").keys())[0] == "model.scale"


def test_state_dict_round_trip_copies_into_existing_parameters():
    minigrad.manual_seed(0)
    a, b = Net(), Net()
    a(minigrad.randn(6, 4))  # updates BatchNorm's running statistics
    w = b.fc1.weight
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert b.fc1.weight is w and not np.shares_memory(w.numpy(), a.fc1.weight.numpy())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    assert b.bn.num_batches_tracked.item() == 1
    x = minigrad.randn(3, 4)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_keeps_dtype_and_accepts_arrays():
    m = nn.Linear(2, 2)
    sd = {"weight": np.ones((2, 2), dtype=np.float64), "bias": minigrad.tensor([1.0, 2.0], dtype=minigrad.float64)}
    m.load_state_dict(sd)
    assert m.weight.dtype == minigrad.float32 and m.bias.dtype == minigrad.float32
    np.testing.assert_array_equal(m.bias.numpy(), [1.0, 2.0])


def test_load_state_dict_assign_takes_the_arrays():
    m = nn.Linear(2, 2)
    w = m.weight
    sd = {"weight": minigrad.ones(2, 2, dtype=minigrad.float64), "bias": minigrad.zeros(2, dtype=minigrad.float64)}
    m.load_state_dict(sd, assign=True)
    assert m.weight is w and w.dtype == minigrad.float64
    assert np.shares_memory(w.numpy(), sd["weight"].numpy())


def test_load_state_dict_errors():
    m = nn.Sequential(nn.Linear(2, 3))
    good = m.state_dict()
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict({"0.weight": minigrad.zeros(3, 2), "extra": minigrad.zeros(1)})
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "0.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra".' in msg
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape "
                                            r"minigrad.Size\(\[2, 2\]\) from checkpoint, the shape in current "
                                            r"model is minigrad.Size\(\[3, 2\]\)"):
        m.load_state_dict({"0.weight": minigrad.zeros(2, 2), "0.bias": good["0.bias"]})
    # strict=False reports instead of raising, but a shape mismatch still raises
    res = m.load_state_dict({"0.weight": minigrad.zeros(3, 2), "extra": minigrad.zeros(1)}, strict=False)
    assert res.missing_keys == ["0.bias"] and res.unexpected_keys == ["extra"]
    assert res == (["0.bias"], ["extra"])
    assert not m[0].weight.numpy().any()
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict({"0.weight": minigrad.zeros(1)}, strict=False)
    with pytest.raises(TypeError):
        m.load_state_dict([1, 2])


def test_load_state_dict_bumps_version_so_stale_graphs_are_refused():
    m = nn.LayerNorm(2)
    x = minigrad.tensor([[1.0, 3.0]], requires_grad=True)
    y = m(x).sum()
    v = m.weight._version
    m.load_state_dict(m.state_dict())
    assert m.weight._version > v
    with pytest.raises(RuntimeError):
        y.backward()


# -- repr ------------------------------------------------------------------------------------

def test_repr_matches_pytorch_layout():
    m = Net()
    assert repr(m) == (
        "Net(\n"
        "  (fc1): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (bn): BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)\n"
        "  (fc2): Linear(in_features=8, out_features=3, bias=True)\n"
        ")"
    )
    s = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(0.2)))
    assert repr(s) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU(inplace=True)\n"
        "    (1): Dropout(p=0.2, inplace=False)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh()])) == (
        "ModuleList(\n  (0-1): 2 x ReLU()\n  (2): Tanh()\n)")
    assert repr(nn.ModuleList()) == "ModuleList()"
    for mod, text in [
        (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"), (nn.ELU(), "ELU(alpha=1.0)"),
        (nn.GELU(), "GELU(approximate='none')"), (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
        (nn.Softmax(1), "Softmax(dim=1)"), (nn.LogSoftmax(), "LogSoftmax(dim=None)"),
        (nn.Flatten(), "Flatten(start_dim=1, end_dim=-1)"), (nn.Unflatten(1, (2, 5)),
                                                               "Unflatten(dim=1, unflattened_size=(2, 5))"),
        (nn.LayerNorm((3, 4), bias=False), "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True, bias=False)"),
        (nn.Embedding(5, 3, padding_idx=0), "Embedding(5, 3, padding_idx=0)"),
        (nn.BatchNorm2d(4, affine=False),
         "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=True)"),
        (nn.CrossEntropyLoss(), "CrossEntropyLoss()"), (nn.Identity(), "Identity()"),
        (nn.PReLU(), "PReLU(num_parameters=1)"), (nn.CELU(), "CELU(alpha=1.0)"), (nn.GLU(), "GLU(dim=-1)"),
        (nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)"), (nn.Softshrink(), "Softshrink(0.5)"),
        (nn.Hardswish(), "Hardswish()"), (nn.SELU(inplace=True), "SELU(inplace=True)"),
        (nn.ModuleDict({"a": nn.ReLU()}), "ModuleDict(\n  (a): ReLU()\n)"),
    ]:
        assert repr(mod) == text


# -- containers -------------------------------------------------------------------------------

def test_sequential_indexing_slicing_and_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
    s.append(c)
    assert len(s) == 3 and s[2] is c
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # PyTorch keeps the original keys in a slice
    x = minigrad.randn(4, 2)
    np.testing.assert_allclose(s(x).numpy(), c(b(a(x))).numpy())
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)
    del s[0]
    assert list(s._modules) == ["0", "1"] and s[1] is c
    s.insert(0, a)
    assert s[0] is a and len(s) == 3
    with pytest.raises(IndexError):
        s[5]
    od = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert od.fc is a and [n for n, _ in od.named_children()] == ["fc", "act"]
    assert len(s + od) == 5
    assert s.pop(0) is a and len(s) == 2


def test_modulelist_and_moduledict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(1, nn.Sigmoid())
    assert [type(m).__name__ for m in layers] == ["Linear", "Sigmoid", "Linear", "ReLU", "Tanh"]
    assert isinstance(layers[-1], nn.Tanh) and len(layers[1:3]) == 2
    assert len(list(layers.parameters())) == 4
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del layers[1]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    layers += [nn.ReLU()]
    assert len(layers) == 5
    with pytest.raises(TypeError):
        layers.extend(nn.ReLU())
    d = nn.ModuleDict({"enc": nn.Linear(2, 2), "act": nn.ReLU()})
    d["dec"] = nn.Linear(2, 1)
    assert list(d) == ["enc", "act", "dec"] and "enc" in d and len(d) == 3
    assert list(d.keys()) == ["enc", "act", "dec"]
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(d.pop("act"), nn.ReLU) and len(d) == 2
    pl = nn.ParameterList([nn.Parameter(minigrad.ones(2)), minigrad.zeros(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": nn.Parameter(minigrad.ones(1))})
    assert list(pd.state_dict()) == ["a"]


def test_custom_module_training_script_with_deepcopy():
    minigrad.manual_seed(3)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    clone = copy.deepcopy(m)
    assert all(a is not b for a, b in zip(m.parameters(), clone.parameters()))
    for a, b in zip(m.parameters(), clone.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert isinstance(b, nn.Parameter)
