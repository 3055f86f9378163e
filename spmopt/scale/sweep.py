"""Scenario sweeps: many independent tasks, each with its own time limit.

A sweep runs tasks such as one territory solve per disruption budget or
one pricing per plan design. Each task runs as a Dask task (or in
process), under a guard that stops waiting for it at its time limit. A
task that raises or overruns is reported with its error; the others'
results are kept. Outcomes come back in task order whatever the order of
completion.

Python cannot stop a running thread, so a task that overruns keeps its
worker thread busy until it returns. Pass the limit on to the work
itself where it has one (e.g. a solver's time limit): the task function
receives it as ``time_limit_seconds`` when it accepts that keyword.
"""

from __future__ import annotations

import inspect
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from spmopt._logging import logger
from spmopt.errors import ConfigError
from spmopt.scale.cluster import worker_count

Status = Literal["ok", "error", "timeout"]

TIME_LIMIT_KEYWORD = "time_limit_seconds"


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
        ``"<ExceptionType>: <message>"`` for an error, a note for a
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


# TODO(#8): a task that ignores its time limit keeps its worker thread
# busy after the timeout is reported; running it in a child process that
# can be killed needs non-daemonic Dask workers.
def run_task(task: SweepTask) -> TaskOutcome:
    """Run one task under its time limit and catch what it raises.

    The task runs in a daemon thread; if it has not finished at its limit
    plus grace the outcome is ``timeout`` and the thread is left to finish
    on its own.
    """
    kwargs = dict(task.kwargs)
    if task.time_limit_seconds is not None and _accepts_limit(task.func):
        kwargs.setdefault(TIME_LIMIT_KEYWORD, task.time_limit_seconds)
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


def _call_into(func: Callable[..., Any], kwargs: dict[str, Any], box: dict) -> None:
    try:
        box["value"] = func(**kwargs)
    except BaseException as exc:  # reported, not raised: one task's failure
        box["error"] = f"{type(exc).__name__}: {exc}"
        box["traceback"] = traceback.format_exc()


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
        client.cancel(futures)


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
    return TaskOutcome(task.key, "error", error=f"{type(exc).__name__}: {exc}")


def _check_keys(tasks: Sequence[SweepTask]) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.key in seen:
            raise ConfigError(f"sweep task keys must be unique, got {task.key!r} twice")
        seen.add(task.key)
