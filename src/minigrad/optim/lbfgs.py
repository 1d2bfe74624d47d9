"""L-BFGS with an optional strong-Wolfe line search, PyTorch's ``LBFGS`` step for step.

The algorithm works on one flat vector holding every parameter (all in one group):

- direction: ``d = -H g`` by the two-loop recursion over the last ``history_size`` pairs
  ``s = t d`` (step taken) and ``y = g_new - g_old`` (gradient change), kept only when
  ``y.s > 1e-10``; the initial Hessian guess is ``H0 = (y.s) / (y.y)`` of the newest pair;
- step length: ``t = min(1, 1 / |g|_1) * lr`` on the first iteration, ``lr`` after; with
  ``line_search_fn="strong_wolfe"`` a bracketing + zoom search (cubic interpolation) picks
  ``t`` satisfying the strong Wolfe conditions (c1=1e-4, c2=0.9);
- stops after ``max_iter`` iterations or ``max_eval`` closure calls, when the largest gradient
  entry is at most ``tolerance_grad``, or when the step or loss change falls below
  ``tolerance_change``.

Everything runs on numpy arrays of the parameters' dtype; scalars that are 0-d tensors in
PyTorch are numpy scalars of that dtype here (so float32 rounds as it does there) and the
ones that are Python floats there (losses, bracket points) stay Python floats.
"""

from __future__ import annotations

from typing import Callable

from .. import backend as B
from ..autograd.graph import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer, _check_lr, _state_tensor

xp = B.xp


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``
    (default: the interval between x1 and x2); its midpoint when the cubic has no minimum."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = xp.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, lo), hi)


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from step ``t`` for a point satisfying the strong Wolfe conditions:
    bracket an interval that must contain one, then zoom into it by cubic interpolation.

    Returns ``(f_new, g_new, t, evaluations)``.
    """
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    evals = 1
    gtd_new = xp.dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # Bracketing phase.
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a step between 1.01 t and 10 t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # Zoom phase: shrink the bracket until a point satisfies the conditions.
    insuf_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # Too close to an end of the bracket (twice in a row, or outside it): move 10% inside.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            # not a sufficient decrease, or no better than the low end: it becomes the high end
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the old low end becomes the high end
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


# State entries PyTorch keeps as tensors (or lists of them); here arrays while a step runs.
_ARRAY_KEYS = ("d", "t", "H_diag", "prev_flat_grad")
_LIST_KEYS = ("old_dirs", "old_stps", "ro", "al")


def _unwrap(v):
    if isinstance(v, Tensor):
        a = v._data
        return a[()] if a.ndim == 0 else a.copy()  # 0-d tensors as numpy scalars of their dtype
    return v


def _wrap(v):
    if isinstance(v, B.generic):
        return _state_tensor(xp.asarray(v))
    if isinstance(v, B.ndarray):
        return _state_tensor(v)
    return v


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    history_size=100, line_search_fn=None)``: limited-memory BFGS (PyTorch's algorithm).

    ``step(closure)`` needs a closure that clears the gradients, computes the loss, calls
    ``backward()`` and returns the loss; it may call it up to ``max_eval`` times (default
    ``max_iter * 5 // 4``) and returns the first loss. ``line_search_fn``: None (fixed step
    ``lr``) or ``"strong_wolfe"``. One parameter group only. The state (flat direction, history
    of steps and gradient changes) is global, kept under the first parameter as in PyTorch, so
    ``state_dict()`` / ``load_state_dict()`` round-trip it.
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    # -- the flat view of all parameters ------------------------------------------
    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p.numel() for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self):
        parts = []
        for p in self._params:
            g = p.grad
            parts.append(xp.zeros(p.numel(), dtype=p._data.dtype) if g is None else g._data.reshape(-1))
        return xp.concatenate(parts)

    def _add_grad(self, step_size, update) -> None:
        """``p += step_size * update`` over the flat vector, in place (as ``p.add_(u, alpha=t)``)."""
        offset = 0
        for p in self._params:
            n = p.numel()
            data = p._data
            data += step_size * update[offset:offset + n].reshape(data.shape)
            p._bump()
            offset += n
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def _clone_param(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            p._bump()

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are left at ``x``."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # -- the step --------------------------------------------------------------------
    def _direction(self, state, flat_grad, d, t, history_size):
        """The L-BFGS direction ``-H g``: update the history with the last step, then two loops."""
        y = flat_grad - state["prev_flat_grad"]
        s = d * t
        ys = xp.dot(y, s)
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        if ys > 1e-10:
            if len(old_dirs) == history_size:  # forget the oldest pair
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            state["H_diag"] = ys / xp.dot(y, y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = xp.dot(old_stps[i], q) * ro[i]
            q = q - al[i] * old_dirs[i]
        r = q * state["H_diag"]
        for i in range(len(old_dirs)):
            be_i = xp.dot(old_dirs[i], r) * ro[i]
            r = r + (al[i] - be_i) * old_stps[i]
        return r

    def step(self, closure: Callable[[], Tensor]):  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss ``closure()`` gave first."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        if any(p._data.__class__ is not B.ndarray for p in group["params"]):
            raise NotImplementedError("LBFGS: CUDA parameters are not supported yet (its flat vectors are numpy "
                                      "arrays); move the model to the CPU, or use another optimizer")
        lr = group["lr"].item() if isinstance(group["lr"], Tensor) else group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        if line_search_fn is not None and line_search_fn != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")

        def evaluate():
            with enable_grad():
                return closure()

        stored = self.state[self._params[0]]
        state = {k: _unwrap(v) for k, v in stored.items() if k not in _LIST_KEYS}
        state.update({k: [_unwrap(e) for e in stored[k]] for k in _LIST_KEYS if k in stored})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            self._store(stored, state)
            return orig_loss

        d, t = state.get("d"), state.get("t")
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                state["old_dirs"], state["old_stps"], state["ro"] = [], [], []
                state["H_diag"] = 1
            else:
                d = self._direction(state, flat_grad, d, t, history_size)
            state["prev_flat_grad"] = flat_grad.copy()
            prev_loss = loss

            # step length: the first iteration scales by the gradient's 1-norm
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = xp.dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # re-evaluate only when another iteration follows (PyTorch's choice)
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:  # the step is negligible
                break
            if abs(loss - prev_loss) < tolerance_change:  # so is the progress
                break

        state["d"], state["t"], state["prev_loss"] = d, t, prev_loss
        self._store(stored, state)
        return orig_loss

    @staticmethod
    def _store(stored: dict, state: dict) -> None:
        """Write the step's state back as PyTorch keeps it: tensors, lists of tensors, numbers."""
        for k, v in state.items():
            stored[k] = [_wrap(e) for e in v] if k in _LIST_KEYS else _wrap(v)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict made by ``state_dict()``. LBFGS's state is flat vectors over all
        parameters, so it is taken as is (cast to the parameters' dtype), not per parameter."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state dict must be a dict with 'state' and 'param_groups' keys")
        saved = state_dict["state"]
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        self._params = self.param_groups[0]["params"]
        dt = self._params[0]._data.dtype

        def cast(v):
            if isinstance(v, (Tensor, B.ndarray)):
                a = v._data if isinstance(v, Tensor) else v
                return _state_tensor(a.astype(dt) if a.dtype.kind == "f" else a.copy())
            if isinstance(v, list):
                return [cast(e) for e in v]
            return v

        for k, v in saved.items():
            if k != 0:
                raise ValueError(f"LBFGS keeps its state under parameter 0, but the state dict has key {k!r}")
            self.state[self._params[0]] = {key: cast(val) for key, val in v.items()}
