"""PyTorch's calling conventions: argument names and aliases, no ignored argument, grad-mode
decorators, function transforms with aux, copies that are copies, errors that name the op and
shapes, BatchNorm's running statistics to the bit, and messages a newcomer can act on.

Reference values come from tests/fixtures/gen_conventions.py (run with torch); tests marked
``torch`` compare with PyTorch live and skip without it.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import textwrap
import types

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_gen():
    spec = importlib.util.spec_from_file_location("gen_conventions", os.path.join(HERE, "fixtures",
                                                                                  "gen_conventions.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_gen()
with open(GEN.SIG_PATH) as _fh:
    SIGS = json.load(_fh)
REF = np.load(GEN.NPZ_PATH)


# ---------------------------------------------------------------------------
# 1. Every public callable: PyTorch's keyword names accepted, unknown keywords refused.

NAMESPACES = {"torch": mg, "Tensor": mg.Tensor, "F": F}


def _public_callables():
    """(label, name, callable) for every public function of minigrad, method of Tensor and
    function of nn.functional (classes, modules and properties excluded)."""
    out = []
    for label, ns in NAMESPACES.items():
        for name in sorted(dir(ns)):
            if name.startswith("_"):
                continue
            obj = inspect.getattr_static(ns, name) if label == "Tensor" else getattr(ns, name)
            if isinstance(obj, (staticmethod, classmethod)):
                obj = obj.__func__
            if isinstance(obj, (types.ModuleType, property)) or inspect.isclass(obj) or not callable(obj):
                continue
            out.append((label, name, obj))
    return out


PUBLIC = _public_callables()


def _params(fn):
    return list(inspect.signature(fn).parameters.values())


def _takes_var_keywords(fn) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in _params(fn))


# The few functions that take **kwargs check every name themselves; each is called here with a
# keyword nobody knows, which must raise TypeError naming it.
def _call_to(kw):
    return mg.ones(2).to(**kw)


def _call_save(kw, tmp_path):
    return mg.save({"a": 1}, os.path.join(tmp_path, "x.pt"), **kw)


def _call_load(kw, tmp_path):
    path = os.path.join(tmp_path, "y.pt")
    mg.save({"a": 1}, path)
    return mg.load(path, **kw)


def _call_random_(kw):
    return mg.zeros(3).random_(0, 5, **kw)


VAR_KEYWORD_CALLS = {
    "Tensor.random_": lambda kw, tmp: _call_random_(kw),  # (its **kw carries 'from', a Python keyword)
    "Tensor.to": lambda kw, tmp: _call_to(kw),
    "torch.save": _call_save,
    "torch.load": _call_load,
}


def test_every_public_callable_has_a_signature_without_swallowing_keywords():
    """No public function takes **kwargs that could swallow a misspelt or unsupported keyword
    silently, except the few listed (each checked by a real call below)."""
    swallowing = []
    for label, name, fn in PUBLIC:
        try:
            sig_fn = fn
            inspect.signature(sig_fn)
        except (TypeError, ValueError):
            pytest.fail(f"{label}.{name} has no inspectable signature")
        if _takes_var_keywords(fn) and f"{label}.{name}" not in VAR_KEYWORD_CALLS:
            swallowing.append(f"{label}.{name}")
    assert not swallowing, f"these take **kwargs (a bogus keyword may be swallowed): {swallowing}"
    assert len(PUBLIC) > 300  # the walk really walks (minigrad, Tensor and nn.functional)


@pytest.mark.parametrize("key", sorted(VAR_KEYWORD_CALLS))
def test_var_keyword_functions_refuse_unknown_keywords(key, tmp_path):
    with pytest.raises(TypeError, match="bogus_keyword"):
        VAR_KEYWORD_CALLS[key]({"bogus_keyword": 1}, str(tmp_path))


def test_a_bogus_keyword_raises_typeerror_everywhere():
    """Binding a keyword no parameter has fails for every public callable without **kwargs (Python's
    own TypeError; nothing is ignored)."""
    for label, name, fn in PUBLIC:
        if _takes_var_keywords(fn):
            continue
        sig = inspect.signature(fn)
        with pytest.raises(TypeError, match="bogus_keyword"):
            sig.bind_partial(bogus_keyword=1)
            pytest.fail(f"{label}.{name} accepts bogus_keyword")


# Names PyTorch accepts that minigrad does not yet, by reason. The test fails on any other missing
# name (a new function must follow PyTorch's names); an entry may shrink as the code catches up.
KNOWN_GAPS = {
    # The first operands of the table-made ops (ops/registry.py's callers: ``f(x, *params)``,
    # ``f(a, b, *params)``) and of the movement functions are positional, named x / a / b rather than
    # input / other; renaming them waits for the core restructuring (issue 15) to land.
    "torch.abs": "input", "torch.absolute": "input", "torch.allclose": "input other", "torch.ceil": "input",
    "torch.clamp": "input", "torch.clip": "input", "torch.clone": "input", "torch.cos": "input",
    "torch.detach": "input", "torch.diag": "input", "torch.div": "input other", "torch.divide": "input other",
    "torch.empty_like": "input", "torch.eq": "input other", "torch.equal": "input other", "torch.erf": "input",
    "torch.exp": "input", "torch.expm1": "input", "torch.flatten": "input", "torch.flip": "input",
    "torch.floor": "input", "torch.floor_divide": "input other", "torch.full_like": "input",
    "torch.ge": "input other", "torch.gt": "input other", "torch.is_floating_point": "input",
    "torch.isfinite": "input", "torch.isinf": "input", "torch.isnan": "input", "torch.le": "input other",
    "torch.log": "input", "torch.log1p": "input", "torch.logical_and": "input other", "torch.logical_not": "input",
    "torch.logical_or": "input other", "torch.logical_xor": "input other", "torch.lt": "input other",
    "torch.masked_fill": "input", "torch.matmul": "input other", "torch.maximum": "input other",
    "torch.minimum": "input other", "torch.movedim": "input", "torch.mul": "input other",
    "torch.multiply": "input other", "torch.ne": "input other", "torch.neg": "input", "torch.negative": "input",
    "torch.numel": "input", "torch.ones_like": "input", "torch.reciprocal": "input", "torch.relu": "input",
    "torch.remainder": "input other", "torch.roll": "input", "torch.rsqrt": "input", "torch.sigmoid": "input",
    "torch.sign": "input", "torch.sin": "input", "torch.sqrt": "input", "torch.square": "input", "torch.t": "input",
    "torch.tan": "input", "torch.tanh": "input", "torch.trace": "input", "torch.transpose": "input",
    "torch.tril": "input", "torch.triu": "input", "torch.true_divide": "input other", "torch.trunc": "input",
    "torch.zeros_like": "input", "torch.randint_like": "input", "F.one_hot": "input", "torch.argsort": "axis input", "torch.bmm": "input mat2",
    "torch.broadcast_to": "input size", "torch.chunk": "axis input", "torch.dot": "input tensor",
    "torch.gather": "input", "torch.index_select": "input", "torch.mm": "input mat2",
    "torch.mv": "input vec", "torch.outer": "input vec2", "torch.permute": "dims input",
    "torch.pow": "exponent input", "torch.reshape": "input shape", "torch.scatter_add": "axis input",
    "torch.sort": "axis input reverse", "torch.split": "tensor", "torch.squeeze": "input",
    "torch.take_along_dim": "input", "torch.topk": "axis input", "torch.unbind": "axis input",
    "torch.unflatten": "axis input", "torch.unsqueeze": "input",
    # Sizes given as *args: PyTorch's parser also takes them by keyword (t.reshape(shape=...)).
    "Tensor.broadcast_to": "size", "Tensor.expand": "size", "Tensor.flip": "dims", "Tensor.permute": "dims",
    "Tensor.repeat": "repeats", "Tensor.reshape": "shape", "Tensor.new_empty": "device size",
    "Tensor.new_ones": "device size", "Tensor.new_zeros": "device size", "Tensor.new_full": "device",
    # Random draws: generator= objects come with PyTorch's Generator (issue 14's work).
    "torch.multinomial": "generator input", "torch.rand_like": "device generator input",
    "torch.randn_like": "device generator input", "Tensor.bernoulli_": "generator", "Tensor.normal_": "generator",
    "Tensor.uniform_": "from generator to",  # ('from' is a Python keyword: positional only here)
    "torch.set_rng_state": "new_state",
    # scatter's reduce= modes are not implemented (passing one raises TypeError).
    "torch.scatter": "axis input reduce", "Tensor.scatter": "axis reduce", "Tensor.scatter_add": "axis",
    # PyTorch 2.13 names copy_'s source ``other`` (older releases: ``src``, minigrad's name).
    "Tensor.copy_": "other",
    # torch.tensor's schema names its data ``t`` (TorchScript's overloads); the Python binding says ``data``.
    "torch.tensor": "t", "torch.as_tensor": "requires_grad",
    # masked_grad chooses a sparse tensor's gradient layout, which minigrad does not offer.
    "Tensor.to_dense": "masked_grad",
    # nn.functional functions written in C++ take the parser's aliases too.
    "F.cosine_similarity": "axis", "F.pairwise_distance": "keepdims",
}


def _wanted_names(entry) -> set:
    names = set().union(*map(set, entry["overloads"])) - set(SIGS["not_modelled"])
    if entry["kind"] == "parser":
        for name, aliases in SIGS["parser_aliases"].items():
            if name in names:
                names |= set(aliases)
    return names


def test_pytorch_keyword_names_are_accepted():
    """For every public callable PyTorch also has, each keyword PyTorch's signature takes (with its
    parser's ``axis``/``keepdims`` aliases) is a keyword parameter here (stored from torch)."""
    checked = 0
    problems = []
    for label, name, fn in PUBLIC:
        entry = SIGS["names"][label].get(name)
        if entry is None or _takes_var_keywords(fn):
            continue
        checked += 1
        accepted = {p.name for p in _params(fn) if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        missing = _wanted_names(entry) - accepted
        allowed = set(KNOWN_GAPS.get(f"{label}.{name}", "").split())
        if missing - allowed:
            problems.append(f"{label}.{name}: PyTorch takes {sorted(missing - allowed)} by keyword")
    assert not problems, "\n".join(problems)
    assert checked > 250


def test_known_gaps_name_real_functions():
    """Every KNOWN_GAPS entry is a public callable PyTorch has (no stale entries)."""
    have = {f"{label}.{name}" for label, name, _ in PUBLIC}
    for key in KNOWN_GAPS:
        label, name = key.split(".", 1)
        assert key in have and name in SIGS["names"][label], key


def test_signature_fixture_is_from_torch():
    assert SIGS["names"]["Tensor"]["sum"]["kind"] == "parser"
    assert ["dim", "dtype", "keepdim"] in [sorted(o) for o in SIGS["names"]["Tensor"]["sum"]["overloads"]]
    assert SIGS["parser_aliases"] == {"dim": ["axis"], "keepdim": ["keepdims"]}


@pytest.mark.torch
def test_signature_fixture_is_what_the_generator_writes():
    torch = pytest.importorskip("torch")
    fresh = GEN.signatures(torch)
    for label in ("Tensor", "F"):
        for name in ("sum", "amax", "softmax", "max", "var"):
            if name in SIGS["names"][label]:
                assert fresh["names"][label][name] == SIGS["names"][label][name], (label, name)


# ---------------------------------------------------------------------------
# 2. No parameter ignored: every parameter of a public function is read in its body.

# Parameters that may go unread, each for a reason that makes ignoring it give PyTorch's result.
MAY_BE_UNREAD = {
    "argsort": {"stable"},  # minigrad's sort is always stable: a stable order is a valid unstable one
    "topk": {"sorted"},  # results always come sorted, which sorted=False allows
    "clone": {"memory_format"},  # one memory format (contiguous) exists; other values raise elsewhere
    "copy_": {"non_blocking"},  # CPU copies are synchronous
    "load": {"weights_only", "mmap"},  # loading is always weights-only; reading all at once gives the same data
    "save": {"pickle_protocol"},  # minigrad never pickles, so no protocol applies
    "numpy": {"force"},
    "softmax": {"_stacklevel"}, "log_softmax": {"_stacklevel"},  # PyTorch's own warning plumbing
    "cuda": {"device", "non_blocking", "memory_format"},  # always raises: no CUDA here
    "cpu": {"memory_format"},  # returns the tensor itself: nothing to lay out
    "type": {"non_blocking"},  # CPU casts are synchronous
    "sparse_coo_tensor": {"check_invariants"},  # the indices are always checked against the size
    "is_contiguous": {"memory_format"}, "contiguous": {"memory_format"},
    # generator= is wired with PyTorch's Generator (issue 14); until then it is accepted unread.
    "rand": {"generator"}, "randn": {"generator"}, "randint": {"generator"}, "multinomial": {"generator"},
}


# Unread anywhere: minigrad has one memory layout (row-major) and no pinned memory, so these
# keywords of PyTorch's can change no value here.
MAY_BE_UNREAD_EVERYWHERE = {"memory_format", "pin_memory"}


def _unread_parameters(fn) -> list:
    fn = inspect.unwrap(fn)
    if not inspect.isfunction(fn):
        return []
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return []
    tree = ast.parse(src).body[0]
    if not isinstance(tree, ast.FunctionDef) or tree.name != fn.__name__:
        return []  # a lambda or an alias assigned from another definition
    a = tree.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    read = {n.id for stmt in tree.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    return [n for n in names if n not in read and n not in ("self", "cls")]


def test_no_public_function_ignores_a_parameter():
    problems = []
    seen = set()
    for label, name, fn in PUBLIC:
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        unread = set(_unread_parameters(fn)) - MAY_BE_UNREAD.get(getattr(fn, "__name__", name), set())
        unread -= MAY_BE_UNREAD_EVERYWHERE
        if unread:
            problems.append(f"{label}.{name} never reads {sorted(unread)}")
    assert not problems, "\n".join(problems)


def test_unread_parameter_check_can_fail():
    def f(x, dim=None, keepdim=False):
        return x.sum(dim)

    assert _unread_parameters(f) == ["keepdim"]


# ---------------------------------------------------------------------------
# 3. numpy's axis / keepdims, as PyTorch's parser accepts them (stored expectations + live torch).

def _outs(r):
    return r if isinstance(r, tuple) else (r,)


@pytest.mark.parametrize("name", sorted(GEN.ALIAS_CASES))
def test_axis_keepdims_aliases_match_torch_reference(name):
    x = mg.tensor(GEN.x_data())
    outs = _outs(GEN.ALIAS_CASES[name](mg, x))
    stored = sorted(k for k in REF.files if k.startswith(f"alias/{name}/"))
    assert len(outs) == len(stored), name
    for k, o in enumerate(outs):
        want = REF[f"alias/{name}/{k}"]
        got = o.numpy()
        assert got.shape == want.shape and got.dtype == want.dtype, (name, k, got.shape, want.shape, got.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"{name} output {k}")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(GEN.ALIAS_CASES))
def test_axis_keepdims_aliases_match_torch_live(name):
    torch = pytest.importorskip("torch")
    want = _outs(GEN.ALIAS_CASES[name](torch, torch.tensor(GEN.x_data())))
    got = _outs(GEN.ALIAS_CASES[name](mg, mg.tensor(GEN.x_data())))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(GEN.ERROR_CASES))
def test_calls_pytorch_rejects_raise_typeerror(name):
    with pytest.raises(TypeError):
        GEN.ERROR_CASES[name](mg, mg.tensor(GEN.x_data()))


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(GEN.ERROR_CASES))
def test_calls_pytorch_rejects_raise_typeerror_in_torch_too(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        GEN.ERROR_CASES[name](torch, torch.tensor(GEN.x_data()))


def test_amax_amin_reduce_over_axis_not_everything():
    """The silent wrong result of issue 13: amax(axis=0) reduced over every dim."""
    a = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(a)
    np.testing.assert_array_equal(x.amax(axis=0).numpy(), a.max(axis=0))
    np.testing.assert_array_equal(x.amin(axis=1).numpy(), a.min(axis=1))
    np.testing.assert_array_equal(mg.amax(x, axis=(0, 1), keepdims=True).numpy(), a.max(keepdims=True))


def test_alias_and_name_together_raise():
    x = mg.ones(2, 3)
    for call in (lambda: x.sum(0, axis=1), lambda: x.amax(dim=0, axis=1), lambda: x.mean(keepdim=True, keepdims=True),
                 lambda: x.cumsum(0, axis=0), lambda: x.squeeze(0, axis=0), lambda: x.var(0, axis=0)):
        with pytest.raises(TypeError, match="multiple values"):
            call()


def test_method_aliases_on_dim_taking_methods():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(a)
    assert x.unsqueeze(axis=1).shape == (2, 1, 3, 4)
    assert mg.ones(2, 1, 3).squeeze(axis=1).shape == (2, 3)
    assert [c.shape for c in x.chunk(3, axis=1)] == [(2, 1, 4)] * 3
    assert len(x.unbind(axis=2)) == 4
    assert x.size(axis=2) == 4
    np.testing.assert_array_equal(x.index_select(axis=2, index=mg.tensor([3, 0])).numpy(), a[:, :, [3, 0]])
    idx = np.array([[[0], [2], [1]], [[1], [1], [0]]])
    np.testing.assert_array_equal(x.gather(axis=2, index=mg.tensor(idx)).numpy(), np.take_along_axis(a, idx, 2))
    np.testing.assert_array_equal(x.sort(axis=1, descending=True).values.numpy(), -np.sort(-a, axis=1))
    np.testing.assert_array_equal(x.argsort(axis=0).numpy(), np.argsort(a, axis=0, kind="stable"))
    np.testing.assert_array_equal(x.topk(2, axis=2).values.numpy(), a[:, :, :1:-1])
    assert x.swapaxes(axis0=0, axis1=2).shape == (4, 3, 2)


# ---------------------------------------------------------------------------
# 4. BatchNorm's running statistics: PyTorch's update to the last bit.

@pytest.mark.parametrize("name", sorted(GEN.BN_CASES))
def test_batchnorm_state_dict_equals_torch_bit_for_bit(name):
    """running = (1 - momentum) * running + momentum * batch_stat (unbiased variance; momentum=None:
    cumulative average), rounded as PyTorch's CPU kernel rounds: the state dict after several
    training steps equals the stored PyTorch one exactly (assert_array_equal, dtypes included)."""
    got = GEN.run_bn(mg, name)
    keys = sorted(k.split("/", 2)[2] for k in REF.files if k.startswith(f"bn/{name}/"))
    assert sorted(got) == keys == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    for k in keys:
        want = REF[f"bn/{name}/{k}"]
        assert got[k].dtype == want.dtype, (k, got[k].dtype, want.dtype)
        np.testing.assert_array_equal(got[k], want, err_msg=f"{name} {k}")
    assert int(got["num_batches_tracked"]) == GEN.BN_CASES[name][5]


def test_batchnorm_update_formula_by_hand():
    """One step from running_mean=0, running_var=1 with momentum 0.25 on a batch whose sums are
    exact: the new values are the formula's, ``momentum * batch_stat + (1 - momentum) * running``."""
    m = mg.nn.BatchNorm1d(2, momentum=0.25).double()
    x = mg.tensor([[1.0, -2.0], [3.0, 2.0], [5.0, 0.0], [7.0, 4.0]], dtype=mg.float64)
    m(x)
    mean = np.array([4.0, 1.0])
    unbiased = np.array([20.0 / 3.0, 20.0 / 3.0])
    np.testing.assert_array_equal(m.running_mean.numpy(), 0.75 * 0.0 + 0.25 * mean)
    np.testing.assert_array_equal(m.running_var.numpy(), 0.25 * unbiased + 0.75 * 1.0)
    m2 = mg.nn.BatchNorm1d(2, momentum=None).double()
    m2(x)
    m2(x * 2)  # cumulative average of the two batches' statistics
    np.testing.assert_allclose(m2.running_mean.numpy(), (mean + 2 * mean) / 2, rtol=1e-15)
    np.testing.assert_allclose(m2.running_var.numpy(), (unbiased + 4 * unbiased) / 2, rtol=1e-15)
    assert int(m2.num_batches_tracked.item()) == 2


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (16, 5)), ("BatchNorm1d", (5, 3, 6)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
def test_batchnorm_running_stats_match_torch_live(cls, shape, dtype):
    """Random batches, momentum 0.1 and None, 4 steps (PyTorch single-threaded: its (N, C) kernel's
    last bit depends on its thread count)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(7)
        for momentum in (0.1, None):
            tm = getattr(torch.nn, cls)(shape[1], momentum=momentum).to(getattr(torch, dtype))
            mm = getattr(mg.nn, cls)(shape[1], momentum=momentum).to(getattr(mg, dtype))
            for _ in range(4):
                a = (rng.standard_normal(shape) * 2.5 - 0.7).astype(dtype)
                tm(torch.tensor(a))
                mm(mg.tensor(a))
            for k in ("running_mean", "running_var", "num_batches_tracked"):
                want = tm.state_dict()[k].numpy()
                got = mm.state_dict()[k].numpy()
                if dtype == "float64" and len(shape) > 2 and k == "running_var":
                    # PyTorch's compiled float64 loop for (N, C, L) input rounds differently from its
                    # source's sequential order in a few percent of steps (see the gen file): 1 ulp.
                    np.testing.assert_array_max_ulp(got, want, maxulp=2)
                else:
                    np.testing.assert_array_equal(got, want, err_msg=f"{k} momentum={momentum}")
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------
# 5. Grad-mode decorators, function transforms with aux, flip, where.

def test_grad_mode_bare_decorators():
    @mg.no_grad
    def off(x):
        return x * 2, mg.is_grad_enabled()

    @mg.enable_grad
    def on():
        return mg.is_grad_enabled()

    @mg.inference_mode
    def inf():
        return mg.is_grad_enabled()

    x = mg.ones(2, requires_grad=True)
    y, enabled = off(x)
    assert not enabled and not y.requires_grad and mg.is_grad_enabled()
    assert off.__name__ == "off" and off.__wrapped__ is not None
    with mg.no_grad():
        assert on() is True and not mg.is_grad_enabled()
    assert inf() is False and mg.is_grad_enabled()

    @mg.no_grad()  # with parentheses, as before
    def off2():
        return mg.is_grad_enabled()

    @mg.inference_mode(False)
    def inf_false():
        return mg.is_grad_enabled()

    assert off2() is False and inf_false() is True
    with pytest.raises(TypeError, match="no_grad"):
        mg.no_grad(3)


@pytest.mark.torch
def test_grad_mode_bare_decorators_are_pytorchs():
    torch = pytest.importorskip("torch")
    for T in (torch, mg):
        @T.no_grad
        def f(x):
            return x * 2

        @T.inference_mode
        def g(x):
            return x * 2

        @T.enable_grad
        def h(x):
            return x * 2

        x = T.ones(2, requires_grad=True)
        assert (f(x).requires_grad, g(x).requires_grad, h(x).requires_grad) == (False, False, True), T


def _aux_fn(a, b):
    return (a * a * b).sum(), {"sq": a * a, "pair": (a + b, b)}


def test_func_grad_has_aux():
    a_np, b_np = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    a, b = mg.tensor(a_np), mg.tensor(b_np)
    g, aux = mg.func.grad(_aux_fn, has_aux=True)(a, b)
    np.testing.assert_array_equal(g.numpy(), 2 * a_np * b_np)
    np.testing.assert_array_equal(aux["sq"].numpy(), a_np ** 2)
    assert isinstance(aux["pair"], tuple) and not aux["sq"].requires_grad and aux["sq"].grad_fn is None
    (ga, gb), aux = mg.func.grad(_aux_fn, argnums=(0, 1), has_aux=True)(a, b)
    np.testing.assert_array_equal(ga.numpy(), 2 * a_np * b_np)
    np.testing.assert_array_equal(gb.numpy(), a_np ** 2)
    g, (value, aux) = mg.func.grad_and_value(_aux_fn, has_aux=True)(a, b)
    assert value.item() == (a_np * a_np * b_np).sum() and not value.requires_grad
    np.testing.assert_array_equal(aux["pair"][0].numpy(), a_np + b_np)
    gb, (value, aux) = mg.func.grad_and_value(_aux_fn, argnums=1, has_aux=True)(a, b)
    np.testing.assert_array_equal(gb.numpy(), a_np ** 2)
    with pytest.raises(RuntimeError, match=r"\(output, aux\)"):
        mg.func.grad(lambda a: a.sum(), has_aux=True)(a)


@pytest.mark.torch
def test_func_grad_has_aux_matches_torch_func():
    torch = pytest.importorskip("torch")
    import torch.func as TF

    args_np = (np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]))
    for argnums in (0, 1, (0, 1)):
        tg, taux = TF.grad(_aux_fn, argnums=argnums, has_aux=True)(*map(torch.tensor, args_np))
        mgg, maux = mg.func.grad(_aux_fn, argnums=argnums, has_aux=True)(*map(mg.tensor, args_np))
        for t, m in zip(tg if isinstance(tg, tuple) else (tg,), mgg if isinstance(mgg, tuple) else (mgg,),
                        strict=True):
            np.testing.assert_array_equal(m.numpy(), t.numpy())
        assert maux["sq"].requires_grad == taux["sq"].requires_grad
        np.testing.assert_array_equal(maux["pair"][1].numpy(), taux["pair"][1].numpy())
        (tg, (tv, _)) = TF.grad_and_value(_aux_fn, argnums=argnums, has_aux=True)(*map(torch.tensor, args_np))
        (mgg, (mv, _)) = mg.func.grad_and_value(_aux_fn, argnums=argnums, has_aux=True)(*map(mg.tensor, args_np))
        assert mv.item() == tv.item()


def test_flip_returns_a_copy():
    a = mg.arange(6.0).reshape(2, 3)
    f = a.flip(1)
    assert not np.shares_memory(f.numpy(), a.numpy())
    f[0, 0] = 100.0
    f.add_(1)
    np.testing.assert_array_equal(a.numpy(), np.arange(6.0).reshape(2, 3))
    a.mul_(2)
    np.testing.assert_array_equal(f.numpy(), [[101.0, 2.0, 1.0], [6.0, 5.0, 4.0]])
    g = mg.flip(a, (0, 1))
    assert not np.shares_memory(g.numpy(), a.numpy()) and a._version == 1 and f._version == 2
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: t.flip(0, 1) * mg.tensor([[1.0, 2.0, 3.0]], dtype=mg.float64), (x,))


TORCH_WHERE_MESSAGE = "where expected condition to be a boolean tensor, but got a tensor with dtype Float"


def test_where_needs_a_boolean_condition():
    x = mg.ones(3)
    with pytest.raises(RuntimeError) as e:
        mg.where(mg.tensor([1.0, 0.0, 2.0]), x, -x)
    assert str(e.value) == TORCH_WHERE_MESSAGE
    with pytest.raises(RuntimeError, match="but got a tensor with dtype Long"):
        x.where(mg.tensor([1, 0, 1]), 0.0)
    np.testing.assert_array_equal(mg.where(mg.tensor([True, False, True]), x, -x).numpy(), [1, -1, 1])
    with pytest.warns(UserWarning, match="uint8 condition"):  # PyTorch still takes uint8, with this warning
        r = mg.where(mg.tensor(np.array([1, 0, 1], dtype=np.uint8)), x, -x)
    np.testing.assert_array_equal(r.numpy(), [1, -1, 1])


@pytest.mark.torch
def test_where_message_is_pytorchs():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as e:
        torch.where(torch.tensor([1.0, 0.0, 2.0]), torch.ones(3), torch.zeros(3))
    assert str(e.value) == TORCH_WHERE_MESSAGE


# ---------------------------------------------------------------------------
# 6. A broadcast error anywhere names the op and both shapes (never a bare numpy error).

A23, B43 = (2, 3), (4, 3)
BROADCAST_CASES = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b, "floor_divide": lambda a, b: a // b, "remainder": lambda a, b: a % b,
    "maximum": lambda a, b: mg.maximum(a, b), "minimum": lambda a, b: mg.minimum(a, b),
    "eq": lambda a, b: a == b, "lt": lambda a, b: a < b, "ge": lambda a, b: a >= b,
    "logical_and": lambda a, b: mg.logical_and(a > 0, b > 0), "bitwise_and": lambda a, b: (a > 0) & (b > 0),
    "where": lambda a, b: mg.where(a > 0, a, b), "masked_fill": lambda a, b: a.masked_fill(b > 0, 1.0),
    "clamp": lambda a, b: a.clamp(min=b), "lerp": lambda a, b: a.lerp(b, 0.5),
    "add_": lambda a, b: a.clone().add_(b), "mul_": lambda a, b: a.clone().mul_(b),
    "sub_ (recorded)": lambda a, b: a.requires_grad_().clone().sub_(b),
    "add (numpy operand)": lambda a, b: a + np.ones(B43, dtype=np.float32),
}


@pytest.mark.parametrize("name", sorted(BROADCAST_CASES))
def test_broadcast_errors_name_the_op_and_both_shapes(name):
    a, b = mg.ones(*A23), mg.ones(*B43)
    with pytest.raises(RuntimeError) as e:
        BROADCAST_CASES[name](a, b)
    msg = str(e.value)
    # (composites name the primitive that met the shapes: clamp's maximum, lerp's sub)
    op = {"clamp": "maximum", "lerp": "sub"}.get(name, name.split(" ")[0].rstrip("_"))
    assert msg.startswith(op), msg
    assert "(2, 3)" in msg and "(4, 3)" in msg, msg


def test_shape_errors_of_matmul_cat_stack_name_the_op():
    for call, op in ((lambda: mg.ones(2, 2, 3) @ mg.ones(3, 3, 4), "matmul"),
                     (lambda: mg.ones(2, 3) @ mg.ones(4, 3), "matmul"),
                     (lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)]), "cat"),
                     (lambda: mg.stack([mg.ones(2, 3), mg.ones(4, 3)]), "stack")):
        with pytest.raises(RuntimeError, match=op) as e:
            call()
        assert "(2, 3)" in str(e.value) or "(2, 2, 3)" in str(e.value)


# ---------------------------------------------------------------------------
# 7. Messages: the version counter error, cross_entropy's targets.

# PyTorch 2.13's message for the first case below (it prints the backward node as "Tanh"; the
# names minigrad shows everywhere, as older PyTorch releases did, are "TanhBackward0").
TORCH_VERSION_MESSAGE = ("one of the variables needed for gradient computation has been modified by an inplace "
                         "operation: [torch.FloatTensor [3]], which is output 0 of Tanh, is at version 1; expected "
                         "version 0 instead. Hint: enable anomaly detection to find the operation that failed to "
                         "compute its gradient, with torch.autograd.set_detect_anomaly(True")


def _tanh_then_write(T):
    x = T.ones(3, requires_grad=True)
    y = x.tanh()
    y.add_(1)
    y.sum().backward()


def test_version_error_names_the_tensor_and_hints_at_anomaly_detection():
    with pytest.raises(RuntimeError) as e:
        _tanh_then_write(mg)
    msg = str(e.value)
    want = (TORCH_VERSION_MESSAGE.replace("torch.", "minigrad.").replace("of Tanh,", "of TanhBackward0,")
            .split(" Hint:")[0])
    assert msg.startswith("TanhBackward0: " + want), msg
    assert "set_detect_anomaly(True)" in msg and "detect_anomaly()" in msg
    x = mg.ones(2, 3, requires_grad=True)
    w = mg.ones(2, 3, dtype=mg.float64)
    z = x.double() * w
    w.add_(1)  # a saved leaf: no "output 0 of" part, as PyTorch
    with pytest.raises(RuntimeError, match=r"\[minigrad.DoubleTensor \[2, 3\]\] is at version 1; expected version 0"):
        z.sum().backward()


def test_version_error_under_detect_anomaly_says_where_the_op_was_made():
    x = mg.ones(3, requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = x.tanh()  # the op whose saved output is overwritten: its file and line are in the message
        line = inspect.currentframe().f_lineno - 1
        y.add_(1)
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    msg = str(e.value)
    assert f'{os.path.basename(__file__)}", line {line}' in msg, msg
    assert "which is output 0 of TanhBackward0" in msg and "changed in there or anywhere later" in msg


@pytest.mark.torch
def test_version_error_matches_pytorchs_wording():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as e:
        _tanh_then_write(torch)
    assert str(e.value).startswith(TORCH_VERSION_MESSAGE)


TORCH_TARGET_MESSAGE = "expected target dtype to be Long or Byte, but got Float"


def test_cross_entropy_float_class_index_targets_ask_for_int64():
    logits = mg.randn(4, 3)
    with pytest.raises(RuntimeError) as e:
        F.cross_entropy(logits, mg.tensor([0.0, 1.0, 2.0, 1.0]))
    msg = str(e.value)
    assert "expected target dtype to be Long" in msg and "but got Float" in msg  # PyTorch's words ...
    assert "int64" in msg and "class indices" in msg and "(4,)" in msg and "(4, 3)" in msg and ".long()" in msg
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities"):
        F.cross_entropy(logits, mg.zeros(4, 3, dtype=mg.int64))
    with pytest.raises(RuntimeError, match="int64"):
        F.nll_loss(logits, mg.zeros(4))
    assert F.cross_entropy(logits, mg.tensor([0, 1, 2, 1])).shape == ()


@pytest.mark.torch
def test_cross_entropy_target_message_is_pytorchs():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as e:
        torch.nn.functional.cross_entropy(torch.randn(4, 3), torch.tensor([0.0, 1.0, 2.0, 1.0]))
    assert str(e.value) == TORCH_TARGET_MESSAGE
