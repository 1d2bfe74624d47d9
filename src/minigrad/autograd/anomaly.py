"""``detect_anomaly``: NaN/inf produced in backward raises, naming the op and where it was made."""

from __future__ import annotations

from .graph import _state


class detect_anomaly:
    """Context manager (and decorator): record where each op is created and check every
    gradient backward computes; a NaN or inf raises ``RuntimeError`` naming the op and
    the file and line of user code that created it."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _state.anomaly
        _state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        _state.anomaly = self._prev
        return False

    def __call__(self, fn):
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)

        wrapper.__wrapped__ = fn
        return wrapper


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(mode)``: switch anomaly detection on or off."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(bool(mode) and check_nan)
        self._prev = _state.anomaly
        _state.anomaly = self.check_nan

    def __enter__(self):
        return self


def is_anomaly_enabled() -> bool:
    return _state.anomaly
