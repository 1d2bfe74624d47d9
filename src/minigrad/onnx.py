"""ONNX export, as ``torch.onnx``: ``minigrad.onnx.export(model, args, f, ...)``.

Needs the ``onnx`` package (the ``onnx`` extra), imported on the first export.
"""

from __future__ import annotations

from .compiler.onnx import export

__all__ = ["export"]
