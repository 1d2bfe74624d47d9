"""``nn.functional``: activations, linear, dropout, normalisation, embedding and every loss.

All are composites of Tensor ops (no gradient code of their own), written to stay finite for
extreme inputs (logits of +-1e4 give finite values and gradients).
"""

from __future__ import annotations

import math
import warnings

from .. import backend as B
from .. import dtypes as D
from ..autograd.graph import no_grad
from ..factories import empty as _empty
from ..ops import elementwise as E
from ..ops.conv import (  # noqa: F401  (re-exported: convolution and pooling live in ops/conv.py)
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d,
)
from ..ops.conv import pad as _pad_modes
from ..ops.indexing import inplace as _inplace
from ..ops.linalg import linear as _fused_linear
from ..ops.movement import pad_constant
from ..ops.reduce import _nll
from ..ops.reduce import log_softmax as _log_softmax
from ..ops.reduce import softmax as _softmax
from ..ops.registry import constant
from ..tensor import Tensor

xp = B.xp

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else constant(xp.asarray(x))


# ---------------------------------------------------------------------------
# Activations.

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); gradient 0 at 0."""
    return input.relu_() if inplace else E.relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def _apply(input: Tensor, fn, inplace: bool, name: str) -> Tensor:
    """``fn(input)``, or written into ``input`` (recorded on the graph as PyTorch's in-place ops are)."""
    if not inplace:
        return fn(input)
    return _inplace(input, name, fn)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0 else negative_slope * x."""
    return _apply(input, lambda x: E.where(x > 0, x, x * negative_slope), inplace, "leaky_relu_")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0 else alpha * (exp(x) - 1)."""
    # expm1 of clamp(x, max=0): the unused branch never overflows (no 0 * inf in backward).
    return _apply(input, lambda x: E.where(x > 0, x, E.expm1(x.clamp(max=0.0)) * alpha), inplace, "elu_")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), exact (erf) or with the ``'tanh'`` approximation."""
    if approximate == "none":
        return input * 0.5 * (1.0 + E.erf(input * _SQRT_HALF))
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * 0.5 * (1.0 + E.tanh(inner))
    raise RuntimeError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _apply(input, lambda x: x * E.sigmoid(x), inplace, "silu_")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _apply(input, lambda x: x * E.tanh(_softplus(x)), inplace, "mish_")


def _softplus(z: Tensor) -> Tensor:
    """log(1 + exp(z)), stable for any z, gradient exactly sigmoid(z) (0.5 at 0)."""
    pos = z + E.log1p(E.exp(-z.clamp(min=0.0)))
    neg = E.log1p(E.exp(z.clamp(max=0.0)))
    return E.where(z > 0, pos, neg)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    z = input * beta if beta != 1 else input
    soft = _softplus(z)
    if beta != 1:
        soft = soft / beta
    return E.where(z > threshold, input, soft)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable."""
    return -_softplus(-input)


def tanh(input: Tensor) -> Tensor:
    return E.tanh(input)


def sigmoid(input: Tensor) -> Tensor:
    return E.sigmoid(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val)."""
    return _apply(input, lambda x: _clamp_open(x, min_val, max_val), inplace, "hardtanh_")


def _clamp_open(x: Tensor, lo: float, hi: float) -> Tensor:
    """clamp(x, lo, hi) whose gradient is 1 strictly inside (lo, hi) and 0 at the bounds (PyTorch's hardtanh)."""
    inside = (x > lo).logical_and(x < hi)
    return E.where(inside, x, x.detach().clamp(lo, hi))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def softsign(input: Tensor) -> Tensor:
    return input / (1.0 + input.abs())


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * (x where x > 0 else alpha * (exp(x) - 1)), with the self-normalising constants."""
    return _apply(input, lambda x: E.where(x > 0, x, E.expm1(x.clamp(max=0.0)) * _SELU_ALPHA) * _SELU_SCALE,
                  inplace, "selu_")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0 else alpha * (exp(x / alpha) - 1)."""
    return _apply(input, lambda x: E.where(x > 0, x, E.expm1(x.clamp(max=0.0) / alpha) * alpha), inplace, "celu_")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _apply(input, lambda x: _clamp_open(x + 3.0, 0.0, 6.0) / 6.0, inplace, "hardsigmoid_")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    # Branches as PyTorch's backward: 0 for x <= -3, x / 3 + 1/2 for -3 < x < 3, 1 for x >= 3.
    return _apply(input, lambda x: E.where(x <= -3.0, 0.0, E.where(x < 3.0, x * (x + 3.0) / 6.0, x)),
                  inplace, "hardswish_")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    if input.ndim == 0 or input.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} of shape "
                           f"{tuple(input.shape)} is odd")
    a, b = input.chunk(2, dim)
    return a * E.sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0 else weight * x; a many-element weight is per channel (dim 1)."""
    w = weight
    if weight.numel() > 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(f"prelu: mismatch of parameter numbers ({weight.numel()}) and input channels "
                               f"(input shape {tuple(input.shape)})")
        w = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return E.where(input > 0, input, input * w)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold else value."""
    return _apply(input, lambda x: E.where(x > threshold, x, value), inplace, "threshold_")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    return E.where(input > lambd, input - lambd, E.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd else 0."""
    return E.where((input > lambd).logical_or(input < -lambd), input, 0.0)


def tanhshrink(input: Tensor) -> Tensor:
    return input - E.tanh(input)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) over ``dim`` (inputs broadcast)."""
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


def _legacy_softmax_dim(ndim: int) -> int:
    warnings.warn(
        "Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed stably."""
    if dim is None:
        dim = _legacy_softmax_dim(input.ndim)
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x, dim), computed stably."""
    if dim is None:
        dim = _legacy_softmax_dim(input.ndim)
    return _log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return softmax(-input, dim, _stacklevel, dtype)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p over dim, eps)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# ---------------------------------------------------------------------------
# Linear, dropout, normalisation, embedding, padding.

def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias: (*, in) x (out, in) -> (*, out)."""
    if weight.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // input.shape[-1] if input.ndim and input.shape[-1] else 1
        cols = input.shape[-1] if input.ndim else 1
        wt = f"{weight.shape[1]}x{weight.shape[0]}" if weight.ndim == 2 else f"{weight.shape[0]}"
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and {wt}) "
            f"(linear: input {tuple(input.shape)}, weight {tuple(weight.shape)})"
        )
    if weight.ndim == 2 and input.ndim >= 1 and (bias is None or bias.ndim == 1):
        return _fused_linear(input, weight, bias)
    out = input @ weight
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k: (*, in1), (*, in2), (out, in1, in2) -> (*, out)."""
    from ..ops.linalg import einsum

    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity unless training)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        mask = B.XP[input._data.__class__].zeros(input.shape, dtype=dt)
    else:
        mask = _dropout_noise(input.shape, dt, p, B.backend_of(input._data))
    return _apply(input, lambda x: x * constant(mask), inplace, "dropout_")


def _dropout_noise(shape: tuple, dt, p: float, bk):
    """PyTorch's CPU dropout mask: ``empty(shape).bernoulli_(1 - p)`` divided by ``1 - p``,
    in the input's dtype (so the same draws and the same scaled values as PyTorch); drawn on
    the host from the default generator of the backend ``bk``'s device, then copied there."""
    from .. import random as R

    keep = R.bernoulli_scalar(R._gen(None, bk.device_type), shape, dt, 1.0 - p)
    return bk.from_host(keep / dt.type(1.0 - p))


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, unbatched: bool = False) -> Tensor:
    """PyTorch's ``feature_dropout``: one Bernoulli(1 - p) draw per (sample, channel), i.e. a noise
    tensor of shape (N, C, 1, ..., 1) scaled by 1/(1-p), multiplied into ``input``.

    ``unbatched``: ``input`` lacks the batch dim; the noise is drawn as for ``input.unsqueeze(0)``
    (PyTorch unsqueezes) and broadcast back.
    """
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:  # PyTorch multiplies by a zero scalar (so nan/inf inputs stay nan)
        return _apply(input, lambda x: x * 0.0, inplace, "feature_dropout_")
    shape = ((1,) if unbatched else ()) + tuple(input.shape)
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    noise = _empty(shape[:2] + (1,) * (len(shape) - 2), dtype=input.dtype, device=input.device)
    # The same two calls as ATen (bernoulli_(1 - p), div_(1 - p)), so the mask follows minigrad's generator.
    noise.bernoulli_(1 - p)
    noise.div_(1 - p)
    if unbatched:
        noise = noise.squeeze(0)
    return _apply(input, lambda x: x * noise, inplace, "feature_dropout_")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` (scaling the rest by 1/(1-p))."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an optional "
            "batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, unbatched=input.ndim == 2)


def _warn_feature_dims(name: str, ndim: int, spatial: int) -> None:
    warnings.warn(
        f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in an error in a future "
        f"release. To retain the behavior and silence this warning, please use dropout instead. Note that {name} "
        f"exists to provide channel-wise dropout on inputs with {spatial} spatial dimensions, a channel dimension, "
        f"and an optional batch dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).", UserWarning, stacklevel=3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability ``p`` (scaling the rest by 1/(1-p)).

    As PyTorch: other ranks warn (deprecated) and still run, a 2-D (N, C) input element by element;
    a 3-D input warns and is read as (N, C, L), not as unbatched (C, H, W).
    """
    _check_p(p)
    if input.ndim not in (3, 4):
        _warn_feature_dims("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning, stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``.

    As PyTorch: other ranks warn (deprecated) and run as if unbatched (the first dim is the channel).
    """
    _check_p(p)
    if input.ndim not in (4, 5):
        _warn_feature_dims("dropout3d", input.ndim, 3)
    return _feature_dropout(input, p, training, inplace, unbatched=input.ndim != 5)


def _check_factor(factor, name: str, what: str) -> int:
    if not isinstance(factor, int) or isinstance(factor, bool):
        raise TypeError(f"{name}(): argument '{what}' (position 2) must be int, not {type(factor).__name__}")
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C*r*r, H, W) into (*, C, H*r, W*r), ``r = upscale_factor`` (sub-pixel convolution).

    A reshape and a permute, so it is differentiable with no gradient code of its own.
    """
    r = _check_factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    # (..., C, r1, r2, H, W) -> (..., C, H, r1, W, r2)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H*r, W*r) into (*, C*r*r, H, W), ``r = downscale_factor`` (inverse of pixel_shuffle)."""
    r = _check_factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    # (..., C, H, r1, W, r2) -> (..., C, r1, r2, H, W)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _batch_stats(x):
    """Per-channel (mean, sum of squared deviations) of (N, C, *) array ``x``, rounded as PyTorch's
    CPU kernel rounds them (single-threaded), so running statistics match PyTorch's to the bit.

    (N, C) input: rows accumulate in the input dtype, the squares by fused multiply-add (the
    kernel's vector loop); (N, C, L) input: one sequential sum per channel in float64. numpy's
    pairwise sums would differ in the last bit.
    """
    n_batch, c = x.shape[0], x.shape[1]
    dt = x.dtype
    x3 = x.reshape(n_batch, c, -1)
    n = x3.shape[0] * x3.shape[2]
    if x.__class__ is not B.ndarray:  # on a GPU: the device's own (parallel) sums, not the CPU's rounding
        mean = x3.mean(axis=(0, 2), dtype=B.float64)
        d = x3 - mean[None, :, None].astype(dt)
        return mean.astype(dt), (d * d).sum(axis=(0, 2), dtype=B.float64).astype(dt), n
    if x3.shape[2] == 1:
        rows = x3[:, :, 0]
        mean = (xp.cumsum(rows, axis=0, dtype=dt)[-1].astype(xp.float64) / n).astype(dt)
        d = rows - mean
        if dt == xp.float32:  # fma in float32: the square is exact in float64, one rounding back
            sq = d.astype(xp.float64)
            sq *= sq
            acc = xp.zeros(c, dtype=xp.float64)
            acc32 = xp.zeros(c, dtype=dt)
            for r in range(n_batch):  # (in place: three ufunc calls a row, nothing allocated)
                xp.add(acc, sq[r], out=acc)
                acc32[...] = acc
                acc[...] = acc32
            return mean, acc32, n
        acc = xp.zeros(c, dtype=dt)
        for r in range(n_batch):
            acc = _fma(d[r], d[r], acc)
        return mean, acc, n
    per_channel = x3.transpose(1, 0, 2).reshape(c, n)  # each channel's values in the kernel's order
    sums = per_channel.astype(xp.float64)
    xp.add.accumulate(sums, axis=1, out=sums)  # a sequential float64 sum, as the kernel's loop
    mean = (sums[:, -1] / n).astype(dt)
    d = per_channel - mean[:, None]
    d *= d  # (in the input dtype, as the kernel)
    sums[...] = d
    xp.add.accumulate(sums, axis=1, out=sums)
    return mean, sums[:, -1].astype(dt), n


def _fma(a, b, c):
    """``a * b + c`` with one rounding (elementwise): float32 through float64, where the product
    is exact; float64 by Dekker's exact product and an exact sum of the rounded terms."""
    if a.dtype != xp.float64:
        return (a.astype(xp.float64) * b + c).astype(a.dtype)
    p = a * b
    split = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two 26-bit halves
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    err = ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)  # p + err == a * b exactly
    s = p + c
    bb = s - c
    t = (c - (s - bb)) + (p - bb)  # s + t == p + c exactly
    return s + (t + err)


def _update_running_stats(x, running_mean, running_var, momentum) -> None:
    """``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased variance), in
    PyTorch's order and precision: float32 buffers with a float32 momentum, the variance term
    summed in float64."""
    mean, var_sum, n = _batch_stats(x)
    if running_mean is not None:
        rm = running_mean._data
        m = rm.dtype.type(momentum)
        running_mean.copy_(constant((m * mean.astype(rm.dtype) + (1 - m) * rm).astype(rm.dtype)))
    if running_var is not None:
        rv = running_var._data
        m = rv.dtype.type(momentum)
        unbiased = var_sum.astype(rv.dtype) / rv.dtype.type(n - 1)
        new = xp.float64(m) * unbiased.astype(xp.float64) + ((1 - m) * rv).astype(xp.float64)
        running_var.copy_(constant(new.astype(rv.dtype)))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over every dim but 1 of (N, C, *): batch statistics when training
    (updating the running ones in place, the variance unbiased), else the running ones."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (N, C, *), got shape {tuple(input.shape)}")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    bshape = (1, c) + (1,) * (input.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"batch_norm: {name} should contain {c} elements not {t.numel()} (input {tuple(input.shape)})")
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
        mean = input.mean(dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with no_grad():
                _update_running_stats(input._data, running_mean, running_var, momentum)
        out = centered * E.rsqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        rm = running_mean.reshape(bshape)
        rv = running_var.reshape(bshape)
        out = (input - rm) * E.rsqrt(rv + eps)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def _as_shape(shape) -> tuple:
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(s) for s in shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale and shift."""
    shape = _as_shape(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(
            f"layer_norm: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(input.shape)}"
        )
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * E.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise (N, C, *) over groups of C // num_groups channels and the spatial dims."""
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"group_norm: num_channels ({c}) must be divisible by num_groups ({num_groups})")
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(2, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(2, keepdim=True)
    out = (centered * E.rsqrt(var + eps)).reshape(input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input`` (*) -> (*, dim).

    The ``padding_idx`` row gets no gradient; with ``max_norm`` the picked rows are renormalised in place.
    """
    idx = input._data if isinstance(input, Tensor) else xp.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {idx.dtype} instead (while checking arguments for embedding)"
        )
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not supported by minigrad")
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"index out of range in self (embedding: indices must be in [0, {num}), got "
                         f"min {idx.min()}, max {idx.max()})")
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += num
        if not 0 <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
    if idx.__class__ is not weight._data.__class__:
        idx = B.to_backend(idx, B.backend_of(weight._data))  # (CPU indices for a CUDA weight, as PyTorch)
    if max_norm is not None:
        dxp = B.XP[idx.__class__]  # the weight's array module
        with no_grad():
            rows = dxp.unique(idx)
            w = weight._data
            norms = dxp.linalg.norm(w[rows], ord=norm_type, axis=1) if norm_type != 2.0 else \
                dxp.sqrt((w[rows] * w[rows]).sum(1))
            scale = dxp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            w[rows] = (w[rows] * scale[:, None]).astype(w.dtype)
            weight._bump()
    out = weight[constant(idx)]
    if padding_idx is not None and weight._rg:
        mask = constant((idx == padding_idx)[..., None])
        out = E.where(mask, out.detach(), out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*, num_classes) with a 1 at each index of ``tensor``."""
    idx = tensor._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"one_hot: Class values must be non-negative (got {int(idx.min())}).")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes (got class {int(idx.max())} "
                           f"with num_classes={num_classes}).")
    out = (idx[..., None] == B.XP[idx.__class__].arange(num_classes)).astype(B.int64)
    return constant(out)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the trailing dims: ``pad`` = (last_lo, last_hi, prev_lo, prev_hi, ...)."""
    if mode == "constant":
        return pad_constant(input, pad, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument")
    return _pad_modes(input, pad, mode)  # reflect / replicate / circular (ops/conv.py)


# ---------------------------------------------------------------------------
# Losses.

def _reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's legacy ``size_average``/``reduce`` arguments mapped onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='{}' instead.".format(
            ("mean" if size_average is not False else "sum") if reduce is not False else "none"),
        UserWarning, stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction: str, extra=()) -> None:
    if reduction not in ("none", "mean", "sum") + tuple(extra):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_same_size(input: Tensor, target: Tensor, name: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({_size(target.shape)}) that is different to the input size "
            f"({_size(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning, stacklevel=3,
        )


def _size(shape) -> str:
    return f"minigrad.Size({list(shape)})"


def _weighted(loss: Tensor, weight) -> Tensor:
    return loss if weight is None else loss * weight


def _elementwise_weighted(loss: Tensor, weight, reduction: str, input: Tensor, by_weight: bool) -> Tensor:
    """PyTorch's per-element ``weight`` of mse/l1 ('mean' = sum / sum(weight)) and huber ('mean' = mean)."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """(input - target)**2, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    _check_same_size(input, target, "mse_loss")
    d = input - target
    return _elementwise_weighted(d * d, weight, reduction, input, True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    _check_same_size(input, target, "l1_loss")
    return _elementwise_weighted((input - target).abs(), weight, reduction, input, True)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: L1)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    target = _t(target)
    _check_same_size(input, target, "smooth_l1_loss")
    d = input - target
    z = d.abs()
    if beta == 0:
        return _reduce(z, reduction)
    loss = E.where(z < beta, d * d * (0.5 / beta), z - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    target = _t(target)
    _check_same_size(input, target, "huber_loss")
    d = input - target
    z = d.abs()
    loss = E.where(z < delta, d * d * 0.5, (z - 0.5 * delta) * delta)
    return _elementwise_weighted(loss, weight, reduction, input, False)


def _clamped_log(x: Tensor) -> Tensor:
    """log(x) clamped to >= -100 (PyTorch's BCE), with finite gradients at x = 0."""
    pos = x > 0
    safe = E.where(pos, x, 1.0)
    return E.where(pos, E.log(safe), -100.0).clamp(min=-100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log(x) + (1 - t) log(1 - x)) for probabilities x, each log clamped to >= -100."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({_size(target.shape)}) that is different to the input size "
            f"({_size(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    data = input._data
    if data.size and (B.XP[data.__class__].nanmin(data) < 0 or B.XP[data.__class__].nanmax(data) > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    return _reduce(_weighted(loss, weight), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input), computed stably from the logits: (1 - t) x + (1 + (pw - 1) t) softplus(-x)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({_size(target.shape)}) must be the same as input size ({_size(input.shape)})"
        )
    sp = _softplus(-input)
    if pos_weight is not None:
        sp = sp * ((pos_weight - 1.0) * target + 1.0)
    loss = (1.0 - target) * input + sp
    return _reduce(_weighted(loss, weight), reduction)


def _class_dim_checks(input: Tensor, target: Tensor, name: str) -> None:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dimension (C) or (N, C, ...), got a 0-d tensor")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{name}: for 1-D input (C,) expected a 0-d target, got shape {tuple(target.shape)}")
        return
    if target.shape[:1] != input.shape[:1]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target.shape[0] if target.ndim else 0})."
        )
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(
            f"{name}: expected target of shape {(input.shape[0],) + tuple(input.shape[2:])} for input of shape "
            f"{tuple(input.shape)}, got {tuple(target.shape)}"
        )


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-input[n, target[n], ...] (times weight[target]) for log-probabilities (N, C, *) or (C,).

    'mean' divides by the summed weights of the non-ignored targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected target dtype to be Long (int64) class indices, but got "
                           f"{D.scalar_type_name(target.dtype)} ({target.dtype}): use target.long()")
    _class_dim_checks(input, target, "nll_loss")
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    t = target._data.astype(B.int64, copy=False)
    keep = None  # None: every target is a class index to keep (the common case, checked with two reductions)
    lo = hi = None
    if t.size:
        lo = int(t.min())
        hi = int(t.max())
    if lo is None or lo < 0 or hi >= n_classes or lo <= ignore_index <= hi:
        keep = t != ignore_index
        bad = keep & ((t < 0) | (t >= n_classes))
        if bad.any():
            raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds. (nll_loss / cross_entropy: input of "
                             f"shape {tuple(input.shape)} has {n_classes} classes, so targets must be in "
                             f"[0, {n_classes - 1}])")
        if keep.all():
            keep = None
    if weight is None and input.ndim == 2 and reduction != "none" and keep is None:
        # The common case, (N, C) log-probabilities and every sample counting once: one node.
        n = input.shape[0]
        return _nll(input, (B.XP[t.__class__].arange(n), t), n if reduction == "mean" else 1, input._data.shape)
    safe = t if keep is None else B.where(keep, t, 0)
    picked = input.gather(cdim, constant(B.XP[t.__class__].expand_dims(safe, cdim))).squeeze(cdim)
    if weight is None and keep is None:  # every sample counts once
        return _reduce(-picked, reduction)
    if weight is not None:
        if weight.ndim != 1 or weight.shape[0] != n_classes:
            raise RuntimeError(f"nll_loss: weight tensor should be defined either for all {n_classes} classes or no "
                               f"classes but got weight tensor of shape: {list(weight.shape)}")
        w = weight._data[safe] if keep is None else weight._data[safe] * keep
    else:
        w = keep.astype(input._data.dtype)
    w = constant(w.astype(input._data.dtype, copy=False))
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits (N, C, *) or (C,) and class indices (N, *) or class probabilities
    (same shape as input), with PyTorch's ``weight``, ``ignore_index`` and ``label_smoothing`` rules."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    target = _t(target)
    cdim = 0 if input.ndim == 1 else 1
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension")
    n_classes = input.shape[cdim]
    logp = _log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = n_classes
    if tuple(target.shape) != tuple(input.shape) and target._data.dtype.kind == "f":
        # PyTorch's rule: a target of the input's shape holds class probabilities; any other holds
        # class indices, which must be integers.
        raise RuntimeError(
            f"cross_entropy: expected target dtype to be Long (int64) class indices, but got "
            f"{D.scalar_type_name(target.dtype)} ({target.dtype}): a target of shape {tuple(target.shape)} for input "
            f"of shape {tuple(input.shape)} holds class indices, which must be int64 (Long): use target.long(). "
            f"(Class probabilities need a floating target of the input's shape {tuple(input.shape)}.)"
        )
    if tuple(target.shape) == tuple(input.shape) and target._data.dtype.kind != "f" and input.ndim > 1:
        raise RuntimeError(f"cross_entropy: Expected floating point type for target with class probabilities, got "
                           f"{D.scalar_type_name(target.dtype)} ({target.dtype})")
    if target._data.dtype.kind == "f":  # class probabilities
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        if reduction == "none":
            return -prod.sum(cdim)
        if reduction == "sum":
            return -prod.sum()
        return -prod.sum() / (input.numel() / n_classes)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    t = target._data
    ignore = t == ignore_index
    if weight is not None:
        smooth = -(logp * weight.reshape(wshape)).sum(cdim)
    else:
        smooth = -logp.sum(cdim)
    smooth = smooth * constant((~ignore).astype(smooth._data.dtype))
    if reduction == "mean":
        if weight is not None:
            denom = weight._data[t[~ignore]].sum()
        else:
            denom = (~ignore).sum()
        ret = smooth.sum() / constant(denom.astype(smooth._data.dtype))
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


def _xlogy_self(t: Tensor) -> Tensor:
    """t * log(t) with 0 at t = 0 (gradient finite there)."""
    zero = t == 0
    return E.where(zero, 0.0, t * E.log(E.where(zero, 1.0, t)))


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise KL divergence target * (log(target) - input) for log-probabilities ``input``.

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically correct KL).
    """
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction, ("batchmean",))
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning, stacklevel=2,
        )
    target = _t(target)
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# Further PyTorch losses (not named by the SPEC; added the PyTorch way).

def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) for targets in {1, -1}."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return _reduce(_softplus(-_t(target) * input), reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return _reduce(E.relu(-_t(target) * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where target == 1, max(0, margin - x) where target == -1."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    loss = E.where(target != 1, E.relu(margin - input), 0.0) + E.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1 (cos over the last dim)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    denom = (((input1 * input1).sum(d) + 1e-12) * ((input2 * input2).sum(d) + 1e-12)).sqrt()
    cos = prod / denom
    loss = E.where(target == 1, 1.0 - cos, 0.0) + E.where(target == -1, E.relu(cos - margin), 0.0)
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """exp(input) - target * input (log_input), else input - target * log(input + eps); ``full`` adds Stirling."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        big = target > 1
        safe = E.where(big, target, 2.0)
        stirling = safe * E.log(safe) - safe + 0.5 * E.log(safe * (2 * math.pi))
        loss = loss + E.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 * (log(var) + (input - target)**2 / var) with var clamped to >= eps (the clamp passes no gradient
    change, as PyTorch's no_grad clamp)."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = constant(B.XP[input._data.__class__].full(input.shape, var, dtype=input._data.dtype))
    elif (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # heteroscedastic: one variance broadcast along a dim
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    d = input - _t(target)
    loss = (E.log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """Mean over classes of -(t log sigmoid(x) + (1 - t) log sigmoid(-x)), per sample."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _t(target)
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    cdim = input.ndim - 1
    loss = loss.sum(cdim) / input.shape[cdim]
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with pairwise p-norm distances (``swap``: also d(p, n))."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(E.relu(margin + d_pos - d_neg), reduction)


# ---------------------------------------------------------------------------
# Attention (MultiheadAttention in attention.py is built on this). Composites of matmul,
# softmax and masking: no gradient code. A boolean ``attn_mask`` is True where attention
# is *allowed* here (PyTorch's convention for this function).

def _additive(mask, dtype, allowed_when_true: bool, like: Tensor):
    """A mask as something to add to attention scores: 0 where allowed, -inf where not (on the
    device of ``like``)."""
    if isinstance(mask, Tensor) and mask._data.dtype.kind != "b":
        return mask if mask._data.dtype == dtype else mask.to(dtype)
    m = mask._data if isinstance(mask, Tensor) else B.to_backend(xp.asarray(mask), B.backend_of(like._data))
    if m.dtype.kind != "b":
        return constant(m.astype(dtype))
    blocked = ~m if allowed_when_true else m
    return constant(B.XP[m.__class__].where(blocked, -xp.inf, 0.0).astype(dtype))


def _repeat_heads(t: Tensor, heads: int) -> Tensor:
    """(..., Hkv, S, E) -> (..., heads, S, E), each key/value head repeated for its query group."""
    hkv = t.shape[-3]
    if heads % hkv:
        raise RuntimeError(f"scaled_dot_product_attention: {heads} query heads are not a multiple of {hkv} "
                           "key/value heads")
    lead = t.shape[:-3]
    t = t.unsqueeze(-3).expand(*lead, hkv, heads // hkv, *t.shape[-2:])
    return t.reshape(*lead, heads, *t.shape[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q k^T * scale + mask) v``: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).

    ``attn_mask`` broadcasts to (..., L, S): bool (True = may attend) or float (added).
    ``is_causal`` masks key positions after each query (top-left aligned; not together with
    ``attn_mask``); ``scale`` defaults to 1/sqrt(E); ``dropout_p`` drops attention weights.
    A query row with every key masked gives zeros (PyTorch's safe softmax), not NaN.
    """
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key, value with at least 2 dims, got "
                           f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key {tuple(key.shape)} and "
                           f"value {tuple(value.shape)} do not fit (need q.size(-1) == k.size(-1) and "
                           "k.size(-2) == v.size(-2))")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    dt = query._data.dtype
    n_l, n_s = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * s
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    bias = None
    if is_causal:
        bias = _additive(xp.tril(xp.ones((n_l, n_s), dtype=bool)), dt, True, query)
    elif attn_mask is not None:
        bias = _additive(attn_mask, dt, True, query)
    if bias is not None:
        scores = scores + bias
    # Safe softmax: rows whose scores are all -inf give zeros instead of 0/0.
    peak = scores.detach().amax(-1, keepdim=True)
    dead = B.XP[peak._data.__class__].isneginf(peak._data)
    if dead.any():
        peak = constant(B.XP[peak._data.__class__].where(dead, 0.0, peak._data).astype(dt))
    e = (scores - peak).exp()
    denom = e.sum(-1, keepdim=True)
    if dead.any():
        denom = denom + constant(dead.astype(dt))
    weights = e / denom
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value
