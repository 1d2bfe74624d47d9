"""``minigrad.compile``: record a function or a whole training step once, replay it as a flat
numpy program.

Design (op-level tracing, then Python source)
---------------------------------------------
- **Record** (``trace.py``). The first call runs eagerly while every op caller hands the
  recorder its op row, its operand arrays, its params and its output array (one
  ``registry.TRACE is not None`` test per op when nothing records). The backward walk runs its
  VJPs on Tensors while recording (as under ``create_graph``, but recording nothing for
  autograd), so each VJP op and each accumulation is an op call too, in the walk's order; the
  stores into ``.grad`` are recorded as calls of the engine's ``_store_grad``. Code that works
  on raw arrays in Python is recorded as one opaque call that replay makes again:
  ``optimizer.step()``, ``zero_grad()``, ``scheduler.step()`` (so optimizer state stays
  bit-identical by construction), and every random draw (fresh numbers from the same generator,
  in eager's order).
- **Check**. The second call with the same guards records again; the two records must be the
  same program with equal constants. A constant that changed means some value was computed from
  tensor data by code the recorder cannot see: that guard set runs eagerly (with a warning)
  rather than replaying a stale value.
- **Plan** (``plan.py``): liveness per storage, results of elementwise numpy ufuncs computed
  with ``out=`` into buffers that died earlier (same shape, dtype and strides), and the program
  written as Python source and compiled once
  (``compile``/``exec``): ``b7 = F7(b3, b6, out=b2)``... Replay costs what the hand-written numpy
  program costs.
- **Replay** (``replay.py``): from the third call on, a call whose guards match runs the plan:
  no Tensor, Node, heap or dict work per op. Guards: grad mode; each tensor argument's shape,
  strides, dtype, requires_grad and class; other arguments by value (numbers, strings, None, containers)
  or identity; the parameters read (the same tensor objects, shape, dtype, requires_grad); the
  ``training`` flag of every module called. A guard set that matches no plan records anew; up
  to ``CACHE_LIMIT`` (8) guard sets per function, then eager with one warning.

Graph breaks (as torch.compile's): Python reading a tensor's value (``item``, ``bool``,
``float``, ``int``, ``tolist``, ``numpy``, printing), boolean-mask indexing, in-place ops on
recorded values that require grad, tensor hooks, ``autograd.grad``/``create_graph``, returning
several tensors that still need autograd. (One such tensor, as a module's forward returns: the
recording also records the walk from it, ``autograd.grad``-style, and the replay hands autograd
one node whose backward runs that plan.) With
``fullgraph=False`` the call finishes eagerly and a ``CompileWarning`` names what and the line;
with ``fullgraph=True`` ``GraphBreakError`` is raised with the same message.
"""

from __future__ import annotations

from typing import Any, Callable

from .replay import CACHE_LIMIT, CompiledFunction, CompileWarning, GraphBreakError
from .trace import GraphBreak, Ref, Step, Trace, record

__all__ = ["compile", "CompiledFunction", "CompiledModule", "CompileWarning", "GraphBreakError", "CACHE_LIMIT",
           "record", "Trace", "Step", "Ref", "GraphBreak"]

_compile = compile  # the builtin, which this module's ``compile`` shadows


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None, options: dict[str, Any] | None = None,
            name: str | None = None, disable: bool = False, recompile_limit: int | None = None,
            isolate_recompiles: bool = False, shapes_spec: Any = None):
    r"""Compile ``model`` (a function of tensors, a whole training step, or an ``nn.Module``):
    record it once, replay it as a flat numpy program.

    Args:
        model: the function or module. Without it, returns a decorator
            (``@minigrad.compile(fullgraph=True)``).
        fullgraph: raise :class:`GraphBreakError` at a graph break instead of running eagerly
            with a :class:`CompileWarning`.
        dynamic: accepted for PyTorch compatibility; shapes are always specialised (a new
            shape records a new plan), as ``dynamic=False``.
        backend: accepted for PyTorch compatibility; minigrad has one backend (the numpy plan).
        mode: accepted for PyTorch compatibility (``"default"``, ``"reduce-overhead"``,
            ``"max-autotune"`` all mean the same plan).
        options: ``{"verify": False}`` skips the second, checking recording (replay from the second
            call; a value computed from tensor data by raw numpy code would then be replayed stale);
            ``{"reuse_buffers": False}`` disables ``out=`` buffer reuse. Other keys raise.
        name: the name warnings and ``explain`` use (default: the function's qualified name).
        disable: return ``model`` itself, uncompiled.
        recompile_limit: how many guard sets (plans, or records that run eagerly) one compiled
            function keeps; the next runs eagerly with one warning (default ``CACHE_LIMIT``, 8).
        isolate_recompiles: accepted for PyTorch compatibility: every compiled function has its own
            cache already.
        shapes_spec: accepted for PyTorch compatibility and ignored: shapes are always specialised.

    Returns:
        a :class:`CompiledFunction` (call it as ``model``; ``.explain(*args)`` prints the plan),
        or for a module a :class:`CompiledModule` wrapping it.

    Example::

        >>> _ = minigrad.manual_seed(0)
        >>> model = nn.Linear(3, 1); opt = minigrad.optim.SGD(model.parameters(), lr=0.1)
        >>> @minigrad.compile
        ... def step(x, y):
        ...     opt.zero_grad()
        ...     loss = ((model(x) - y) ** 2).mean()
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> x, y = minigrad.randn(8, 3), minigrad.randn(8, 1)
        >>> losses = [step(x, y).item() for _ in range(5)]  # calls 1-2 record, 3-5 replay
        >>> losses[-1] < losses[0]
        True
    """
    opts = dict(options or {})
    verify = bool(opts.pop("verify", True))
    reuse = bool(opts.pop("reuse_buffers", True))
    if opts:
        raise ValueError(f"minigrad.compile: unknown options {sorted(opts)} (known: 'verify', 'reuse_buffers')")
    if mode not in (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
        raise ValueError(f"minigrad.compile: unknown mode {mode!r}")
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, name=name, disable=disable, recompile_limit=recompile_limit,
                                 isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
    if disable:
        return model
    from ..nn.module import Module

    limit = CACHE_LIMIT if recompile_limit is None else int(recompile_limit)
    kw = {"fullgraph": fullgraph, "verify": verify, "reuse": reuse, "name": name, "limit": limit}
    if isinstance(model, Module):
        return CompiledModule(model, **kw)
    if not callable(model):
        raise TypeError(f"minigrad.compile: expected a function or an nn.Module, got {type(model).__name__}")
    return CompiledFunction(model, **kw)


class CompiledModule:
    """``minigrad.compile(module)``: calling it runs the module's compiled forward (its
    ``__call__``, hooks included); every other attribute (``parameters()``, ``train()``,
    ``state_dict()``...) is the wrapped module's, which is ``_orig_mod`` as in PyTorch.

    In an eager training loop (``loss_fn(cm(x), y).backward()``) the replayed forward's output
    reaches autograd as one node, ``CompiledFunctionBackward``, whose backward runs the recorded
    walk from it to the parameters and inputs. One output may need autograd (several is a graph
    break); ``create_graph=True`` through it raises.
    """

    def __init__(self, module, **kw) -> None:
        object.__setattr__(self, "_orig_mod", module)
        object.__setattr__(self, "_compiled", CompiledFunction(module.__call__, **kw))

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def explain(self, *args, **kwargs) -> None:
        """Print the plan of the forward for these arguments (see ``CompiledFunction.explain``)."""
        self._compiled.explain(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"CompiledModule({self._orig_mod!r})"
