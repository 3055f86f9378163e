"""Solver runs that Ctrl-C (or SIGTERM) stops at once.

A CP-SAT or HiGHS solve runs in C++ for up to its time limit, and Python
handles a signal only when control returns to it. Every solve in spmopt
therefore goes through :func:`solve_cp_sat` or :func:`run_highs`. While
the ``spmopt`` command watches for signals (:func:`watching`), these
register the solver; a signal then stops every registered solve through
:func:`stop_all` (called from a watcher thread), and the command's handler
hands its exception to :func:`hold` instead of raising it in the middle of
the solver. The exception is raised as soon as the solve returns, so the
command unwinds and removes its unfinished output.

Library callers that install no watcher get each solver's own behaviour
(CP-SAT stops on Ctrl-C and returns its best state).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_LOCK = threading.RLock()
"""Reentrant: a signal handler may run while the main thread holds it."""
_ACTIVE: set[Any] = set()
_HELD: list[BaseException] = []
_WATCHING = threading.Event()


def watching(on: bool | None = None) -> bool:
    """Declare whether a signal watcher will call :func:`stop_all`.

    Returns whether one does (after the change, if ``on`` is given).
    """
    if on:
        _WATCHING.set()
    elif on is not None:
        _WATCHING.clear()
        _HELD.clear()
    return _WATCHING.is_set()


def stop_all() -> None:
    """Ask every registered solve to stop now (safe from any thread)."""
    with _LOCK:
        solvers = list(_ACTIVE)
    for solver in solvers:
        if hasattr(solver, "stop_search"):
            solver.stop_search()
        else:
            solver.cancelSolve()


def hold(exc: BaseException) -> bool:
    """Keep ``exc`` until the current solve returns; False when none runs.

    Called from a signal handler: raising inside a solver's Python
    callback would unwind through C++ frames.
    """
    with _LOCK:
        if not _ACTIVE:
            return False
        _HELD.append(exc)
    stop_all()
    return True


@contextlib.contextmanager
def _registered(solver: Any) -> Iterator[None]:
    if not _WATCHING.is_set():
        yield
        return
    with _LOCK:
        _ACTIVE.add(solver)
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE.discard(solver)
            held = list(_HELD) if not _ACTIVE else []
            if held:
                _HELD.clear()
    if held:
        raise held[0]


def solve_cp_sat(solver: Any, model: Any, callback: Any = None) -> Any:
    """``solver.solve(model, callback)``, stoppable by Ctrl-C; its status."""
    if _WATCHING.is_set():
        solver.parameters.catch_sigint_signal = False
    with _registered(solver):
        return solver.solve(model, callback)


def run_highs(highs: Any) -> Any:
    """``highs.run()``, stoppable by Ctrl-C; its HiGHS status.

    The process-wide HiGHS scheduler is first set to the instance's thread
    count (see :func:`spmopt._highs.use_threads`).
    """
    from spmopt._highs import use_threads  # HiGHS loads only when it solves

    use_threads(int(highs.getOptionValue("threads")[1]))
    if _WATCHING.is_set():
        highs.HandleUserInterrupt = True
    with _registered(highs):
        return highs.run()
