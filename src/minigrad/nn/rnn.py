"""Recurrent layers: ``RNN`` (tanh / relu), ``LSTM``, ``GRU`` and their single-step cells.

Composites of matmul and elementwise ops, so no gradient code. Parameter names, shapes,
gate order (LSTM: i, f, g, o; GRU: r, z, n with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``)
and initialisation (U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias) are
PyTorch's, so a PyTorch ``state_dict`` loads. Each layer multiplies the whole input
sequence by ``W_ih`` at once; only the hidden-state product runs per time step.
"""

from __future__ import annotations

import math
import numbers

from ..ops.movement import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _empty
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_cell(mode):
    act = (lambda t: t.tanh()) if mode == "RNN_TANH" else (lambda t: t.relu())

    def step(xi, state, w_hh, b_hh):
        hh = state @ w_hh.T
        if b_hh is not None:
            hh = hh + b_hh
        return act(xi + hh)

    return step


def _lstm_step(xi, state, w_hh, b_hh):
    h, c = state
    gates = xi + h @ w_hh.T
    if b_hh is not None:
        gates = gates + b_hh
    n = h.shape[-1]
    i = gates[..., :n].sigmoid()
    f = gates[..., n:2 * n].sigmoid()
    g = gates[..., 2 * n:3 * n].tanh()
    o = gates[..., 3 * n:].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


def _gru_step(xi, h, w_hh, b_hh):
    hh = h @ w_hh.T
    if b_hh is not None:
        hh = hh + b_hh
    n = h.shape[-1]
    r = (xi[..., :n] + hh[..., :n]).sigmoid()
    z = (xi[..., n:2 * n] + hh[..., n:2 * n]).sigmoid()
    cand = (xi[..., 2 * n:] + r * hh[..., 2 * n:]).tanh()
    return cand + z * (h - cand)  # (1 - z) * n + z * h


def _step_fn(mode):
    if mode == "LSTM":
        return _lstm_step
    if mode == "GRU":
        return _gru_step
    return _rnn_cell(mode)


class RNNBase(Module):
    """Shared parameters, checks and the layer/direction loop of RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if proj_size != 0:
            raise NotImplementedError("minigrad's LSTM does not support proj_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], _empty((gate_size, layer_in), dtype, device))
                setattr(self, names[1], _empty((gate_size, hidden_size), dtype, device))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], _empty((gate_size,), dtype, device))
                    setattr(self, names[3], _empty((gate_size,), dtype, device))
                self._flat_weights_names.extend(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list:
        dirs = 2 if self.bidirectional else 1
        per = 4 if self.bias else 2
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i * per:(i + 1) * per] for i in range(self.num_layers * dirs)]

    def _layer_params(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        return (getattr(self, f"weight_ih{sfx}"), getattr(self, f"weight_hh{sfx}"),
                getattr(self, f"bias_ih{sfx}") if self.bias else None,
                getattr(self, f"bias_hh{sfx}") if self.bias else None)

    def _check_input(self, input: Tensor) -> bool:
        """Validate ``input``; True when it is unbatched (2-D)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        return input.ndim == 2

    def _check_hidden(self, h: Tensor, batch: int, unbatched: bool, what: str = "hidden") -> None:
        dirs = 2 if self.bidirectional else 1
        expected = (self.num_layers * dirs, self.hidden_size) if unbatched else \
            (self.num_layers * dirs, batch, self.hidden_size)
        if tuple(h.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {tuple(h.shape)}")

    def forward(self, input: Tensor, hx=None):
        unbatched = self._check_input(input)
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        seq_len, batch = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = x.new_zeros((self.num_layers * dirs, batch, self.hidden_size))
            h0, c0 = zeros, (zeros if lstm else None)
        else:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
                h0, c0 = hx
                self._check_hidden(h0, batch, unbatched)
                self._check_hidden(c0, batch, unbatched, "cell")
            else:
                h0, c0 = hx, None
                self._check_hidden(h0, batch, unbatched)
            if unbatched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
        step = _step_fn(self.mode)
        h_n, c_n = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, d)
                k = layer * dirs + d
                xi = layer_in @ w_ih.T  # the whole sequence at once: (L, N, gates)
                if b_ih is not None:
                    xi = xi + b_ih
                state = (h0[k], c0[k]) if lstm else h0[k]
                hs = [None] * seq_len
                order = range(seq_len - 1, -1, -1) if d else range(seq_len)
                for t in order:
                    state = step(xi[t], state, w_hh, b_hh)
                    hs[t] = state[0] if lstm else state
                outs.append(stack(hs, 0))
                h_n.append(state[0] if lstm else state)
                if lstm:
                    c_n.append(state[1])
            layer_out = outs[0] if dirs == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_out = F.dropout(layer_out, self.dropout, True)
            layer_in = layer_out
        output = layer_in
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if unbatched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, h_0=None) -> (output, h_n)`` with
    input (L, N, H_in) ((N, L, H_in) if batch_first, or unbatched (L, H_in)), h (D*layers, N, H).
    """

    def __init__(self, *args, **kwargs) -> None:
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """LSTM (gates i, f, g, o): ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU (gates r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``): ``forward(input, h_0=None)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One time step: parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = _empty((gate_size, input_size), dtype, device)
        self.weight_hh = _empty((gate_size, hidden_size), dtype, device)
        if bias:
            self.bias_ih = _empty((gate_size,), dtype, device)
            self.bias_hh = _empty((gate_size,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _run(self, input: Tensor, hx):
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        lstm = self.mode == "LSTM"
        if hx is None:
            z = x.new_zeros((x.shape[0], self.hidden_size))
            hx = (z, z) if lstm else z
        elif unbatched:
            hx = tuple(h.unsqueeze(0) for h in hx) if lstm else hx.unsqueeze(0)
        xi = x @ self.weight_ih.T
        if self.bias_ih is not None:
            xi = xi + self.bias_ih
        out = _step_fn(self.mode)(xi, hx, self.weight_hh, self.bias_hh)
        if unbatched:
            out = tuple(o.squeeze(0) for o in out) if lstm else out.squeeze(0)
        return out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity=relu"
        return s


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu): ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``forward(input, (h, c)=None) -> (h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx=None):
        return self._run(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step: ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(input, hx)
