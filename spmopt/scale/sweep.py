"""Scenario sweeps: many independent tasks, each with its own time limit.

A sweep runs tasks such as one territory solve per disruption budget or
one pricing per plan design. Each task runs as a Dask task (or in
process), under a guard that stops waiting for it at its time limit. A
task that raises or overruns is reported with its error; the others'
results are kept. Outcomes come back in task order whatever the order of
completion.

A task with a time limit runs in a child process of its own, which is
killed when the limit and the grace have passed, so an overrun frees its
worker at once. This needs a parent that may have children: the calling
process, or a worker of a local cluster that spmopt started (its workers
are not daemonic). Elsewhere (a remote scheduler's daemonic workers) the
task runs in a thread, which Python cannot stop: an overrun then keeps
that thread busy until it returns. Pass the limit on to the work itself
where it has one (e.g. a solver's time limit): the task function receives
it as ``time_limit_seconds`` when it accepts that keyword.
"""

from __future__ import annotations

import inspect
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from spmopt._logging import logger
from spmopt.errors import ConfigError, SpmoptError
from spmopt.scale.cluster import release, worker_count

Status = Literal["ok", "error", "timeout"]

TIME_LIMIT_KEYWORD = "time_limit_seconds"
_PRELOAD = ["cloudpickle", "spmopt.scale.alignments", "spmopt.scale.pricing"]


@dataclass(frozen=True)
class SweepTask:
    """One task of a sweep.

    Attributes
    ----------
    key : str
        Unique name of the task, e.g. ``"budget=0.10"``.
    func : callable
        The work; must be picklable for a cluster (a module-level function).
    kwargs : mapping
        Keyword arguments of ``func``.
    time_limit_seconds : float, optional
        Time limit of the task, seconds of wall time on the worker; passed
        to ``func`` as ``time_limit_seconds`` when it takes that keyword.
        No limit when None.
    grace_seconds : float
        Extra time allowed past the limit before the task is given up as
        timed out (so work that honours its own limit can still return).
    """

    key: str
    func: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    time_limit_seconds: float | None = None
    grace_seconds: float = 5.0

    @property
    def hard_limit_seconds(self) -> float | None:
        """When the guard stops waiting: the limit plus the grace, or None."""
        if self.time_limit_seconds is None:
            return None
        return self.time_limit_seconds + self.grace_seconds


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task.

    Attributes
    ----------
    key : str
    status : {"ok", "error", "timeout"}
    value : object
        The task's return value when ``status == "ok"``, else None.
    error : str
        The message of a user error (:class:`~spmopt.errors.SpmoptError`),
        ``"<ExceptionType>: <message>"`` for any other error, a note for a
        timeout, empty when ok.
    wall_seconds : float
        Time on the worker; varies from run to run.
    """

    key: str
    status: Status
    value: Any = None
    error: str = ""
    wall_seconds: float = field(default=0.0, compare=False)

    @property
    def ok(self) -> bool:
        """True when the task returned a value."""
        return self.status == "ok"


@dataclass(frozen=True)
class SweepResult:
    """Outcomes of every task of a sweep, in task order."""

    outcomes: list[TaskOutcome]
    n_workers: int
    wall_seconds: float = field(compare=False)

    @property
    def values(self) -> dict[str, Any]:
        """``{key: value}`` of the tasks that succeeded."""
        return {o.key: o.value for o in self.outcomes if o.ok}

    @property
    def failures(self) -> list[TaskOutcome]:
        """Tasks that raised or ran out of time."""
        return [o for o in self.outcomes if not o.ok]

    def to_frame(self) -> pd.DataFrame:
        """One row per task: key, status, error (no timings, no values)."""
        rows = [(o.key, o.status, o.error) for o in self.outcomes]
        return pd.DataFrame(rows, columns=["key", "status", "error"])


def run_task(task: SweepTask) -> TaskOutcome:
    """Run one task under its time limit and catch what it raises.

    A task with a limit runs in a child process, killed if it has not
    finished at its limit plus grace (outcome ``timeout``). Without a
    limit, or where this process may not have children, it runs in a
    daemon thread, left to finish on its own after a timeout.
    """
    kwargs = dict(task.kwargs)
    if task.time_limit_seconds is not None and _accepts_limit(task.func):
        kwargs.setdefault(TIME_LIMIT_KEYWORD, task.time_limit_seconds)
    if task.time_limit_seconds is not None and may_have_children():
        return _run_in_child(task, kwargs)
    box: dict[str, Any] = {}
    started = time.perf_counter()
    worker = threading.Thread(target=_call_into, args=(task.func, kwargs, box))
    worker.daemon = True
    worker.start()
    worker.join(task.hard_limit_seconds)
    seconds = time.perf_counter() - started
    if worker.is_alive():
        note = (
            f"no result within the time limit of {task.time_limit_seconds:g} s "
            f"(+{task.grace_seconds:g} s grace)"
        )
        return TaskOutcome(task.key, "timeout", error=note, wall_seconds=seconds)
    if "error" in box:
        return TaskOutcome(task.key, "error", error=box["error"], wall_seconds=seconds)
    return TaskOutcome(task.key, "ok", value=box["value"], wall_seconds=seconds)


def may_have_children() -> bool:
    """True when this process may start child processes (is not daemonic)."""
    return not multiprocessing.current_process().daemon


def _context() -> Any:
    """``forkserver`` (fast, safe with threads) where there is one, else spawn.

    The fork server imports spmopt's sweep families once, so a task's
    process starts with them loaded.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _run_in_child(task: SweepTask, kwargs: dict[str, Any]) -> TaskOutcome:
    """Run ``task`` in a child process; kill it at the hard limit."""
    import cloudpickle

    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    payload = cloudpickle.dumps((task.func, kwargs))
    child = ctx.Process(target=_child_main, args=(payload, send), daemon=True)
    started = time.perf_counter()
    child.start()
    send.close()
    try:
        outcome = _await_child(task, child, receive)
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    return replace(outcome, wall_seconds=time.perf_counter() - started)


def _await_child(task: SweepTask, child: Any, receive: Any) -> TaskOutcome:
    if not receive.poll(task.hard_limit_seconds):
        child.kill()
        note = (
            f"no result within the time limit of {task.time_limit_seconds:g} s "
            f"(+{task.grace_seconds:g} s grace); its process was stopped"
        )
        return TaskOutcome(task.key, "timeout", error=note)
    import cloudpickle

    try:
        kind, value = cloudpickle.loads(receive.recv_bytes())
    except EOFError:
        child.join()
        note = f"task process ended without a result (exit code {child.exitcode})"
        return TaskOutcome(task.key, "error", error=note)
    if kind == "error":
        return TaskOutcome(task.key, "error", error=value)
    return TaskOutcome(task.key, "ok", value=value)


def _child_main(payload: bytes, send: Any) -> None:
    """Body of a task's child process: run, send back the value or error."""
    import cloudpickle

    try:
        func, kwargs = cloudpickle.loads(payload)
        message = ("ok", func(**kwargs))
    except BaseException as exc:  # reported to the parent, not raised
        message = ("error", describe_error(exc))
    try:
        data = cloudpickle.dumps(message)
    except Exception as exc:
        data = cloudpickle.dumps(("error", f"result not picklable: {exc}"))
    send.send_bytes(data)
    send.close()


def _call_into(func: Callable[..., Any], kwargs: dict[str, Any], box: dict) -> None:
    try:
        box["value"] = func(**kwargs)
    except BaseException as exc:  # reported, not raised: one task's failure
        box["error"] = describe_error(exc)
        box["traceback"] = traceback.format_exc()


def describe_error(exc: BaseException) -> str:
    """A task's error as written to its row.

    The message alone for a user error (infeasible model, bad data: a
    :class:`~spmopt.errors.SpmoptError`), else ``"<ExceptionType>: <message>"``
    (an unexpected error, whose type helps to find it).
    """
    if isinstance(exc, SpmoptError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _accepts_limit(func: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return TIME_LIMIT_KEYWORD in params


def run_sweep(tasks: Sequence[SweepTask], client: Any = None) -> SweepResult:
    """Run every task; a failure or timeout does not stop the others.

    Parameters
    ----------
    tasks : sequence of SweepTask
        Keys must be unique.
    client : distributed.Client, optional
        Run the tasks as Dask tasks on this client; in process (one after
        the other) when None.

    Returns
    -------
    SweepResult
        Outcomes in the order of ``tasks``.
    """
    _check_keys(tasks)
    started = time.perf_counter()
    n_workers = worker_count(client)
    if client is None:
        outcomes = [run_task(task) for task in tasks]
    else:
        outcomes = _run_on_cluster(tasks, client)
    result = SweepResult(outcomes, n_workers, time.perf_counter() - started)
    failed = len(result.failures)
    logger.info(
        "sweep: %d tasks, %d ok, %d failed or timed out, %d workers, %.2f s",
        len(tasks),
        len(tasks) - failed,
        failed,
        result.n_workers,
        result.wall_seconds,
    )
    return result


def sweep_designs(
    func: Callable[..., Any],
    designs: Mapping[str, Any],
    seed: int,
    client: Any = None,
    time_limit_seconds: float | None = None,
) -> SweepResult:
    """Run ``func(cfg=design, seed=seed)`` for every named design as a task."""
    tasks = [
        SweepTask(name, func, {"cfg": cfg, "seed": seed}, time_limit_seconds)
        for name, cfg in designs.items()
    ]
    return run_sweep(tasks, client)


def outcomes_frame(sweep: SweepResult) -> pd.DataFrame:
    """One row per design: status, the task's figures when ok, and error.

    A figure named ``status`` is renamed ``result_status`` so that it does
    not hide the task's own status.
    """
    rows = []
    for outcome in sweep.outcomes:
        figures = outcome.value if outcome.ok else {}
        row = {"design": outcome.key, "status": outcome.status}
        row.update(
            {f"result_{k}" if k == "status" else k: v for k, v in figures.items()}
        )
        row["error"] = outcome.error
        rows.append(row)
    return pd.DataFrame(rows)


def _run_on_cluster(tasks: Sequence[SweepTask], client: Any) -> list[TaskOutcome]:
    pending = [_submit(task, client) for task in tasks]
    futures = [p for p in pending if not isinstance(p, TaskOutcome)]
    try:
        return [_collect(task, p) for task, p in zip(tasks, pending, strict=True)]
    finally:
        release(futures)


def _submit(task: SweepTask, client: Any) -> Any:
    """A future running ``task``, or an error outcome if it cannot be sent."""
    try:
        return client.submit(run_task, task, pure=False)
    except Exception as exc:
        return _error(task, exc)


def _collect(task: SweepTask, pending: Any) -> TaskOutcome:
    """The outcome of a future; a lost worker is an error of that task."""
    if isinstance(pending, TaskOutcome):
        return pending
    try:
        return pending.result()
    except Exception as exc:
        return _error(task, exc)


def _error(task: SweepTask, exc: Exception) -> TaskOutcome:
    return TaskOutcome(task.key, "error", error=describe_error(exc))


def _check_keys(tasks: Sequence[SweepTask]) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.key in seen:
            raise ConfigError(f"sweep task keys must be unique, got {task.key!r} twice")
        seen.add(task.key)
