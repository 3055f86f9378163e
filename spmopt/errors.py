"""One family of errors and warnings for the whole package.

Every user-facing problem raises a subclass of :class:`SpmoptError` whose
message names the field or column, the bad value and what is allowed. The
CLI prints the message and exits non-zero without a traceback.
"""


class SpmoptError(Exception):
    """Base class of every error a user can cause and fix."""


class ConfigError(SpmoptError):
    """A configuration file or option is missing, malformed or out of range."""


class DataError(SpmoptError):
    """An input table is missing, empty, or has wrong columns or values."""


class InfeasibleError(SpmoptError):
    """A model has no solution; the message says which constraints conflict."""


class SpmoptWarning(UserWarning):
    """Base class of warnings a user may choose to ignore."""


class TimeLimitWarning(SpmoptWarning):
    """A solver stopped at its time limit before proving optimality."""


class LeakageWarning(SpmoptWarning):
    """A column was dropped because it is only known after the outcome."""


class NoSignalWarning(SpmoptWarning):
    """A model did not beat its base-rate baseline."""


def show(value: object) -> str:
    """``repr`` of a table cell for messages, without numpy's type wrapper.

    A missing cell (None, NaN, NaT or pandas' NA) shows as ``a blank cell``
    rather than ``nan``; a whole number read as a float shows without
    ``.0``.
    """
    if _is_blank(value):
        return "a blank cell"
    item = getattr(value, "item", None)
    plain = item() if callable(item) else value
    if isinstance(plain, float) and plain.is_integer() and abs(plain) < 1e15:
        return str(int(plain))  # a cell read as 5 shows as 5, not 5.0
    return repr(plain)


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT differ from themselves
    except TypeError:  # pandas' NA has no truth value
        return True
    except ValueError:  # an array: not a cell
        return False
