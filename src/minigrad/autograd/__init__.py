"""Reverse-mode autodiff: ``backward``, ``grad``, gradient checks and anomaly detection.

Read in this order: ``graph.py`` (nodes, grad mode), then ``engine.py`` (the walk).
"""

from __future__ import annotations

from . import functional
from .anomaly import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import Node, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "GradcheckError", "Node", "backward", "detect_anomaly", "enable_grad", "functional", "grad",
    "gradcheck", "gradgradcheck", "inference_mode", "is_grad_enabled", "no_grad",
    "set_detect_anomaly", "set_grad_enabled",
]
