"""minigrad: reverse-mode automatic differentiation over numpy, shaped like PyTorch."""

from __future__ import annotations

from . import (
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    datasets,
    distributed,
    dtypes,
    func,
    nn,
    onnx,
    optim,
    runtime,  # process-level tuning (malloc, GC, thread pool), applied at import
    sparse,
    utils,
)
from .amp import autocast
from .autograd.graph import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backends.cuda import get_float32_matmul_precision, set_float32_matmul_precision
from .dtypes import (
    bfloat16,
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from .factories import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .histogram import histc, histogram
from .ops.composite import argsort, sort, topk
from .ops.elementwise import (
    abs,
    ceil,
    clamp,
    cos,
    eq,
    erf,
    exp,
    expm1,
    floor,
    floor_divide,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    reciprocal,
    relu,
    remainder,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    tan,
    tanh,
    trunc,
    where,
)
from .ops.elementwise import add as _add
from .ops.elementwise import divide as div
from .ops.elementwise import pow as pow
from .ops.elementwise import round as _round
from .ops.elementwise import sub as _sub
from .ops.linalg import bmm, dot, einsum, matmul, mv, outer
from .ops.movement import (
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    diag,
    flatten,
    flip,
    gather,
    index_select,
    masked_fill,
    movedim,
    permute,
    repeat,
    reshape,
    roll,
    scatter,
    scatter_add,
    split,
    squeeze,
    stack,
    t,
    take_along_dim,
    trace,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
)
from .ops.reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .runtime import get_num_threads, set_num_threads
from .serialization import load, save
from .size import Size
from .sparse import mm, sparse_coo, sparse_coo_tensor, spmm, strided  # mm: sparse-aware
from .tensor import (
    BFloat16Tensor,
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    Tensor,
    device,
    narrow,
)

multiply = mul
divide = true_divide = div
negative = neg
clip = clamp
absolute = abs


def add(input, other, *, alpha=1):
    """``input + alpha * other``."""
    return _add(input, other if alpha == 1 else mul(other, alpha))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    return _sub(input, other if alpha == 1 else mul(other, alpha))


subtract = sub


def round(input, *, decimals: int = 0):
    """Round half to even (zero gradient)."""
    return _round(input, decimals)


def is_tensor(obj) -> bool:
    """True if ``obj`` is a minigrad Tensor (a Parameter included).

    Examples:
        >>> minigrad.is_tensor(minigrad.ones(1)), minigrad.is_tensor([1.0])
        (True, False)
    """
    return isinstance(obj, Tensor)


def numel(x) -> int:
    """The number of elements of ``x``.

    Examples:
        >>> minigrad.numel(minigrad.zeros(2, 5))
        10
    """
    return x.numel()


def clone(x):
    """A copy of ``x`` with its own memory, on the graph (``x.clone()``)."""
    return x.clone()


def detach(x):
    """``x`` cut off the graph, sharing its data (``x.detach()``)."""
    return x.detach()


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when ``|a - b| <= atol + rtol * |b|`` for every element.

    Examples:
        >>> minigrad.allclose(minigrad.tensor([1.0, 2.0]), minigrad.tensor([1.0, 2.00001]))
        True
    """
    return a.allclose(b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def equal(a, b) -> bool:
    """True when ``a`` and ``b`` have the same shape and the same elements."""
    return a.equal(b)


def is_floating_point(x) -> bool:
    """True when ``x``'s dtype is a floating type."""
    return x.is_floating_point()


__version__ = "0.1.0"

from . import _function_docs, _tensor_docs  # noqa: E402  documentation tables (as PyTorch's _torch_docs.py)
from . import runtime as _runtime  # noqa: E402
from .compiler import compile  # noqa: E402  torch.compile's name (shadows the builtin here only)

_runtime._apply_default()  # BLAS threads: 1 unless the environment says otherwise (runtime.py)
