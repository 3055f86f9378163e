"""The ``spmopt`` command.

User errors (bad config, bad table, infeasible model) print one message
and exit with status 2; no traceback is shown for them.

Ctrl-C prints one ``error:`` line and exits with status 130, at any
moment: while the libraries load, while a job works, while its output is
removed or published. Unfinished output is always removed. If the run
folder was already published when Ctrl-C arrived, the line says so; the
folder is complete and the status is still 130, as the command did not
finish (its summary may not have been printed). SIGTERM is handled the
same way with status 143.

This module imports only the standard library at first, so the signal
handlers are in place before the heavy libraries load; the command tree
(:data:`app`) is built on first use.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import signal
import sys
import threading
from typing import Any

_EARLY: list[int] = []
"""Signals that arrived while this module loaded (console script only)."""


def _hold_early(signum: int, frame: object) -> None:
    _EARLY.append(signum)


if os.path.basename(sys.argv[0]) == "spmopt":  # the console script: catch
    for _signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C from the start
        signal.signal(_signum, _hold_early)

from spmopt import _stoppable, runs  # noqa: E402


def _terminate(signum: int, frame: object) -> None:
    """Turn SIGTERM into an exit that unwinds, so partial output is removed.

    Inside a solve the exit is held until the (stopped) solve returns.
    """
    runs.run_signal_callbacks()
    exit_ = SystemExit(128 + signum)
    if not _stoppable.hold(exit_):
        raise exit_


def _interrupt(signum: int, frame: object) -> None:
    """Count Ctrl-C (see :func:`spmopt.runs.note_interrupt`), then interrupt.

    Inside a solve the interrupt is held until the (stopped) solve returns.
    """
    runs.note_interrupt()
    runs.run_signal_callbacks()
    if not _stoppable.hold(KeyboardInterrupt()):
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    previous = _install({signal.SIGTERM: _terminate, signal.SIGINT: _interrupt})
    watcher = _SignalWatcher() if previous else None
    _stoppable.watching(watcher is not None)
    before, done = runs.interrupts(), len(runs.published())
    code = 130
    try:
        _raise_early()
        with runs.signal_scope():
            code = _run(argv)
    except BaseException as exc:
        if not _is_signal(exc, runs.interrupts() > before):
            raise  # a bug: keep its traceback
        code = _code_of(exc)
    finally:
        code = _finish(previous, watcher, code)
    return _report(code, runs.interrupts() > before, runs.published()[done:])


def _raise_early() -> None:
    """Act on a signal that arrived before :func:`main` took over."""
    held, _EARLY[:] = list(_EARLY), []
    if signal.SIGTERM in held:
        raise SystemExit(128 + signal.SIGTERM)
    if held:
        runs.note_interrupt()
        raise KeyboardInterrupt


def _finish(previous: dict[int, Any], watcher: Any, code: int) -> int:
    """Remove unfinished output, restore the handlers; a signal there is kept."""
    try:
        runs.discard_open_runs()
    except BaseException as exc:  # a signal held back during the clean-up
        code = _code_of(exc)
    if watcher is not None:
        watcher.close()
        _stoppable.watching(False)
    _install(previous)
    return code


def _is_signal(exc: BaseException, interrupted: bool) -> bool:
    """Whether ``exc`` ends the command because of a signal.

    After Ctrl-C, libraries often fail with errors of their own (a locked
    database, a half-initialised module); those count as the interrupt.
    """
    return interrupted or isinstance(exc, KeyboardInterrupt | SystemExit)


def _code_of(exc: BaseException) -> int:
    """Exit status for an exception that ended the command."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    return 130


def _report(code: int, interrupted: bool, new_runs: list[Any]) -> int:
    """Print the one line an interrupted or terminated command ends with."""
    if code == 128 + signal.SIGTERM:
        _echo_error(_stopped("terminated (SIGTERM)", new_runs))
    elif interrupted or code == 130:
        _echo_error(_stopped("interrupted (Ctrl-C)", new_runs))
        return 130
    return code


def _stopped(what: str, new_runs: list[Any]) -> str:
    """``what``, then whether a run folder was already published."""
    if new_runs:
        return f"{what} after the run was written to {new_runs[-1]}; " + (
            "that folder is complete"
        )
    return f"{what}; unfinished output removed"


def _echo_error(text: str) -> None:
    """Write ``error: text`` to stderr (nothing if stderr is closed)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"error: {text}\n")
        sys.stderr.flush()


def _run(argv: list[str] | None) -> int:
    from typer import Abort, TyperException

    from spmopt.errors import SpmoptError

    before = runs.interrupts()
    try:
        result = _app()(args=argv, prog_name="spmopt", standalone_mode=False)
    except SpmoptError as exc:
        _echo_error(str(exc))
        return 2
    except TyperException as exc:  # a command-line mistake, not a bug
        return _usage_error(exc)
    except Abort:
        _echo_error("aborted")
        return 1
    except KeyboardInterrupt:
        return 130
    except ImportError:
        if runs.interrupts() > before:  # a library was stopped while loading
            return 130
        raise
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return result if isinstance(result, int) else 0


def _usage_error(exc: Any) -> int:
    """Show a command-line mistake as the usage, a help hint and one error line.

    ``exc`` is the parser's exception (unknown option or command, missing
    or bad value). The help a group prints when called with no arguments
    has already been shown; nothing is added to it. Returns its exit
    status (2 for usage errors).
    """
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        return int(exc.exit_code)
    if _bad_ranged_value(exc) or _bad_path(exc):
        return int(exc.exit_code)
    if ctx is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"{ctx.get_usage()}\n")
            sys.stderr.write(f"Try '{ctx.command_path} --help' for help.\n")
    message = exc.format_message() + _given_value(exc)
    _echo_error(message + _allowed_values(exc) + _commands_of(exc))
    return int(exc.exit_code)


_ALLOWED = {"seed": f"a whole number from 0 to {runs.SEED_MAX}"}
"""What an option whose value the parser rejected allows, by option name."""


def _bad_ranged_value(exc: Any) -> bool:
    """Show a rejected value of an option in _ALLOWED as one line, as for -1.

    ``error: --seed must be a whole number from 0 to ..., got 'abc'``, the
    same line a number out of range gives. Returns whether it was shown.
    """
    name = getattr(getattr(exc, "param", None), "name", None) or ""
    given = _rejected_input(exc)
    if name not in _ALLOWED or given is None:
        return False
    _echo_error(f"--{name} must be {_ALLOWED[name]}, got {given!r}")
    return True


_PATH_REFUSED = re.compile(
    r"(path|file|directory) '.*' (is not readable|is not writable|does not exist"
    r"|is a file|is a directory)\.$",
    re.DOTALL,
)
"""How the parser words a path it refuses (see :func:`_bad_path`)."""


def _bad_path(exc: Any) -> bool:
    """Show a path the parser refused (e.g. not readable) as one line.

    ``error: 'CONFIG': path 'base.yaml' is not readable``, like the one line
    spmopt's own readers give for a file they cannot read, with no usage.
    Commands mostly leave files to those readers (``readable=False``); this
    covers any that do not. Returns whether it was shown.
    """
    from typer import BadParameter

    param = getattr(exc, "param", None)
    if not isinstance(exc, BadParameter) or param is None:
        return False
    if not _PATH_REFUSED.fullmatch(exc.message):
        return False
    _echo_error(f"{param.get_error_hint()}: {exc.message.rstrip('.')}")
    return True


def _allowed_values(exc: Any) -> str:
    """``"; allowed: ..."`` when the rejected value's option is in _ALLOWED."""
    allowed = _ALLOWED.get(getattr(getattr(exc, "param", None), "name", None) or "")
    return f"; allowed: {allowed}" if allowed else ""


def _commands_of(exc: Any) -> str:
    """``" Commands: a, b."`` when ``exc`` names an unknown command."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None or not exc.format_message().startswith("No such command"):
        return ""
    with contextlib.suppress(Exception):
        names = ctx.command.list_commands(ctx)
        if names:
            return " Commands: " + ", ".join(names) + "."
    return ""


def _given_value(exc: Any) -> str:
    """``" (got 'abc')"`` when the parser rejected a value it can name."""
    given = _rejected_input(exc)
    return "" if given is None else f" (got {given!r})"


def _rejected_input(exc: Any) -> str | None:
    """The text the parser rejected, when its exception names it."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return None
    with contextlib.suppress(Exception):
        given = errors()[0]["input"]
        if isinstance(given, str):
            return given
    return None


def _install(handlers: dict[int, Any]) -> dict[int, Any]:
    """Set signal handlers (main thread only); return the ones replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, h) for signum, h in handlers.items()}


def _app() -> Any:
    """The command tree (imported on first use; tests may replace ``app``)."""
    return sys.modules[__name__].app


class _SignalWatcher:
    """Stops running solves (:mod:`spmopt._stoppable`) when a signal arrives.

    Python runs signal handlers only between bytecodes of the main thread;
    the wake-up pipe tells this thread at once, while the main thread is
    still inside a solver.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._thread = threading.Thread(
            target=self._watch, name="spmopt-signals", daemon=True
        )
        self._thread.start()

    def _watch(self) -> None:
        while True:
            data = os.read(self._read, 64)
            if not data or 0 in data:
                return
            if signal.SIGINT in data or signal.SIGTERM in data:
                _stoppable.stop_all()

    def close(self) -> None:
        """Stop the thread and give the wake-up descriptor back."""
        signal.set_wakeup_fd(self._previous)
        os.write(self._write, b"\0")
        self._thread.join()
        os.close(self._read)
        os.close(self._write)


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from spmopt._commands import app

    globals()["app"] = app
    return app


def _console() -> None:
    """Run :func:`main` and exit with its status through :func:`_exit_now`."""
    status = [1]  # an uncaught error (a bug) exits 1 after its traceback
    atexit.register(_exit_now, len(runs.published()), status)  # runs last
    status[0] = main()
    sys.exit(status[0])


def _exit_now(before: int, status: list[int]) -> None:
    """Last exit handler: act on a late signal, then end the process.

    A signal that arrives once :func:`main` has returned, while Python
    joins threads and runs the other exit handlers (the tracking store's
    among them), is held by :func:`_hold_early`; it still makes the status
    130 (143 for SIGTERM) with one line, so a calling shell script stops
    as it would for an interrupted command, though the output is complete.
    Python's own teardown after this point restores the default handlers,
    under which a late Ctrl-C would kill the process without a word; every
    exit handler has run, so the process ends here instead.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    held, _EARLY[:] = list(_EARLY), []
    code = status[0]
    if held:
        code = 128 + signal.SIGTERM if signal.SIGTERM in held else 130
        _report(code, code == 130, runs.published()[before:])
    logging.shutdown()  # registered before this handler: it would run after
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _console()
