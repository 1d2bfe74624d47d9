"""Attention: ``MultiheadAttention`` (PyTorch's names and semantics); its kernel,
``F.scaled_dot_product_attention``, is in ``functional.py``.

Composites of matmul, softmax and masking: no gradient code. Mask conventions differ between
the two, as in PyTorch: in ``scaled_dot_product_attention`` a boolean ``attn_mask`` is True where
attention is *allowed*; in ``MultiheadAttention`` boolean ``attn_mask`` / ``key_padding_mask``
are True where it is *not*. Float masks are added to the scores in both.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..ops.movement import cat
from ..ops.registry import constant
from ..tensor import Tensor
from . import init
from .functional import _additive, dropout
from .linear import Linear, _empty
from .module import Module

xp = B.xp


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.): ``forward(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False)``
    -> ``(attn_output, attn_weights or None)``.

    Shapes (L target, S source, N batch, E embed_dim): query (L, N, E), key (S, N, kdim),
    value (S, N, vdim) — (N, L, E) etc. with ``batch_first``, or unbatched (L, E). Weights
    (N, L, S) averaged over heads, or (N, num_heads, L, S). Parameters as PyTorch:
    ``in_proj_weight`` (3E, E) (or ``q/k/v_proj_weight`` when kdim/vdim differ), ``in_proj_bias``,
    ``out_proj`` (a Linear), ``bias_k``/``bias_v`` with ``add_bias_kv``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty((3 * embed_dim, embed_dim), dtype, device)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = _empty((embed_dim, embed_dim), dtype, device)
            self.k_proj_weight = _empty((embed_dim, self.kdim), dtype, device)
            self.v_proj_weight = _empty((embed_dim, self.vdim), dtype, device)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty((1, 1, embed_dim), dtype, device)
            self.bias_v = _empty((1, 1, embed_dim), dtype, device)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _projections(self):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        return ws, bs

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"MultiheadAttention: query, key and value must all be 2-D (unbatched) or 3-D, got "
                                 f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                               "method `generate_square_subsequent_mask` to create this mask.")
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0) if isinstance(key_padding_mask, Tensor) \
                    else xp.asarray(key_padding_mask)[None]
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n_l, n, e = query.shape
        if e != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {e}")
        if key.shape[:2] != value.shape[:2] or key.shape[1] != n:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)} "
                                 f"or batch {n}")
        h, hd = self.num_heads, self.head_dim
        dt = query._data.dtype
        (wq, wk, wv), (bq, bk, bv) = self._projections()
        q = query @ wq.T
        k = key @ wk.T
        v = value @ wv.T
        if bq is not None:
            q, k, v = q + bq, k + bk, v + bv
        # Masks as additive float arrays of shape (N or 1, H or 1, L, S).
        mask = None
        if attn_mask is not None:
            m = _additive(attn_mask, dt, False, query)
            if m.ndim == 2:
                m = m.reshape(1, 1, *m.shape)
            elif m.ndim == 3:
                m = m.reshape(n, h, *m.shape[1:])
            else:
                raise RuntimeError(f"attn_mask's dimension {m.ndim} is not supported")
            mask = m
        if key_padding_mask is not None:
            kp = _additive(key_padding_mask, dt, False, query)
            if tuple(kp.shape) != (n, key.shape[0]):
                raise AssertionError(f"expecting key_padding_mask shape of {(n, key.shape[0])}, but got "
                                     f"{tuple(kp.shape)}")
            kp = kp.reshape(n, 1, 1, -1)
            mask = kp if mask is None else mask + kp
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, n, e)], 0)
            v = cat([v, self.bias_v.expand(1, n, e)], 0)
            if mask is not None:
                mask = _pad_last(mask, dt)
        if self.add_zero_attn:
            zeros = constant(B.XP[k._data.__class__].zeros((1, n, e), dtype=dt))  # (on the keys' device)
            k = cat([k, zeros], 0)
            v = cat([v, zeros], 0)
            if mask is not None:
                mask = _pad_last(mask, dt)
        n_s = k.shape[0]
        # (L, N, E) -> (N, H, L, hd)
        q = q.reshape(n_l, n, h, hd).permute(1, 2, 0, 3)
        k = k.reshape(n_s, n, h, hd).permute(1, 2, 0, 3)
        v = v.reshape(n_s, n, h, hd).permute(1, 2, 0, 3)
        scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        if self.dropout > 0.0 and self.training:
            weights = dropout(weights, self.dropout, True)
        out = (weights @ v).permute(2, 0, 1, 3).reshape(n_l, n, e)
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            weights = weights.squeeze(0)
        return out, weights


def _pad_last(mask: Tensor, dt) -> Tensor:
    """Append one always-allowed key column to an additive mask."""
    pad = constant(B.XP[mask._data.__class__].zeros(mask.shape[:-1] + (1,), dtype=dt))
    return cat([mask, pad], -1)
