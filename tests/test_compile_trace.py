"""minigrad.compiler.trace: recording a call at op level (the data ``compile`` and ONNX export read)."""

import copy

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.compiler import trace as T
from minigrad.ops import registry


def _mlp():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def test_forward_steps_name_ops_inputs_params_and_outputs():
    m = _mlp()
    x = mg.randn(5, 3)
    with mg.no_grad():
        out, tr = T.record(m, (x,))
    assert tr.broken is None
    assert [s.name for s in tr.steps] == ["linear", "tanh", "linear"]
    assert all(s.kind == "op" and s.phase == "forward" for s in tr.steps)
    first = tr.steps[0]
    assert [r.kind for r in first.inputs] == ["input", "param", "param"]
    assert tr.inputs[0] is x
    w, b = tr.params[first.inputs[1].index](), tr.params[first.inputs[2].index]()
    assert w is m[0].weight and b is m[0].bias
    assert first.out.kind == "buf" and first.out.shape == (5, 4) and first.out.dtype == np.float32
    assert tr.steps[1].inputs[0] is first.out  # buffers are referenced by the step that made them
    assert tr.outputs is tr.steps[2].out
    np.testing.assert_array_equal(out.numpy(), m(x).numpy())


def test_number_operand_is_a_constant_with_its_array():
    x = mg.randn(3)
    _, tr = T.record(lambda t: t * 2.5 + 1, (x,))
    (mul, add) = tr.steps
    assert mul.inputs[1].kind == "const"
    assert tr.consts[mul.inputs[1].index].item() == 2.5
    assert tr.consts[add.inputs[1].index].item() == 1.0


def test_training_step_records_walk_grads_and_update_with_phases():
    m = _mlp()
    opt = mg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x, y = mg.randn(5, 3), mg.tensor([0, 1, 0, 1, 1])

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss

    _, tr = T.record(step, (x, y))
    assert tr.broken is None
    kinds = [(s.kind, s.phase) for s in tr.steps]
    assert kinds[0] == ("call", "update") and tr.steps[0].target is opt
    assert ("walk", "backward") in kinds and ("call", "update") == kinds[-1]
    grads = [s for s in tr.steps if s.kind == "grad"]
    targets = {id(tr.params[s.target.index]()) for s in grads if isinstance(s.target, T.Ref)}
    assert targets == {id(p) for p in m.parameters()}
    assert any(s.phase == "backward" and s.kind == "op" for s in tr.steps)
    nll = next(s for s in tr.steps if s.name == "nll_loss")
    flat = []
    T._collect(nll.params, T.Ref, flat)
    assert any(r.kind == "input" and r.index == 1 for r in flat)  # the targets are an input, not a constant


def test_recorded_backward_gives_eager_bits():
    m = _mlp()
    m2 = copy.deepcopy(m)
    x, y = mg.randn(5, 3), mg.tensor([0, 1, 0, 1, 1])

    def step(model, x, y):
        loss = nn.functional.cross_entropy(model(x).sigmoid() * model(x).relu().exp(), y)
        loss.backward()
        return loss

    l1, _ = T.record(lambda x, y: step(m, x, y), (x, y))
    l2 = step(m2, x, y)
    assert l1.item() == l2.item()
    for p, q in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_random_draws_are_recorded_calls():
    x = mg.randn(4, 4)
    _, tr = T.record(lambda t: nn.functional.dropout(t, 0.5) + mg.randn(4, 4), (x,))
    assert [s.kind for s in tr.steps][:1] == ["random"]
    assert sum(s.kind == "random" for s in tr.steps) == 2


@pytest.mark.parametrize("read", [lambda t: t.sum().item(), lambda t: bool(t.sum() > 0), lambda t: t.tolist(),
                                  lambda t: t.numpy(), lambda t: str(t)])
def test_python_reads_break_the_recording(read):
    x = mg.randn(3)
    expect = read(x * 2)

    def f(t):
        y = t * 2
        return y, read(y)

    (y, got), tr = T.record(f, (x,))
    assert tr.broken is not None and "test_compile_trace.py" in tr.broken
    assert type(got) is type(expect)
    with pytest.raises(T.GraphBreak):
        T.record(f, (x,), fullgraph=True)


def test_hooks_are_removed_after_recording():
    item = mg.Tensor.__dict__["item"]
    T.record(lambda t: (t * 2).sum().item(), (mg.randn(3),))
    T.record(lambda t: t * 2, (mg.randn(3),))
    assert registry.TRACE is None
    assert mg.Tensor.__dict__["item"] is item
    assert nn.Module.__dict__["__call__"].__name__ == "__call__"
