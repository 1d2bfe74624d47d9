"""Special functions numpy lacks (erf), on arrays."""

from __future__ import annotations

import math

from .. import backend as B

xp = B.xp
_erf64 = xp.frompyfunc(math.erf, 1, 1)

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, float32's own rounding level.
_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf_array(x):
    """erf elementwise: exact (libm) in float64, A&S 7.1.26 for smaller floats."""
    if x.dtype == B.float64:
        return xp.asarray(_erf64(x), dtype=B.float64)  # frompyfunc gives a Python float for 0-d input
    z = xp.abs(x).astype(B.float64)
    t = 1.0 / (1.0 + _P * z)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    y = 1.0 - poly * xp.exp(-z * z)
    return (xp.sign(x) * y).astype(x.dtype)
