"""What every library's workload looks like to the runner."""

from __future__ import annotations

# name -> (reported unit, factor from seconds per op-count)
UNITS = {
    "tiny_ops": ("us/op", 1e6),
    "mlp_step": ("ms/step", 1e3),
    "cnn_step": ("ms/step", 1e3),
    "deep_chain": ("ms", 1e3),
    "big_elementwise": ("ms", 1e3),
    "moons": ("s", 1.0),
}
WORKLOADS = tuple(UNITS)
# "compiled" is minigrad running each workload's step through minigrad.compile.
LIBS = ("minigrad", "compiled", "numpy", "torch")

# Forward ops in one run of the tiny_ops program (its micro-seconds are per forward op,
# the backward pass included in the time).
TINY_OPS_N = 30

# Checksum agreement: |c - ref| <= ATOL + RTOL * |ref|, against the numpy floor.
# moons trains 100 steps at lr up to 1.0, so float32 rounding differences between
# libraries grow a little over the run.
RTOL = {"moons": 2e-3}
DEFAULT_RTOL = 1e-3
ATOL = 1e-4


class Unavailable(Exception):
    """A library lacks a piece this workload needs (reported, not raised to the user)."""


class Workload:
    """One library's implementation of one workload.

    ``checksum()`` runs on fresh state and returns the workload's final loss (plus,
    for one-shot workloads, the sum of the input gradients); ``run()`` is the timed
    unit; ``count`` is how many reported units one ``run()`` holds (ops for tiny_ops).
    The PyTorch-API workloads also have ``step(*step_args())``, the repeated piece
    (one forward + backward, or one training step; ``before_step()`` clears the input
    gradients it fills), which ``run()`` calls through ``_step``: the step itself, or the
    step compiled when ``compiled`` is set (after ``prepare_compiled()``).
    """

    name = ""
    variant = ""
    count = 1
    compiled = False
    _compiled_step = None

    def before_step(self) -> None:
        pass

    def prepare_compiled(self) -> None:
        pass

    @property
    def _step(self):
        return self._compiled_step or self.step

    @_step.setter
    def _step(self, fn) -> None:
        self._compiled_step = fn

    def checksum(self) -> float:
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError
