"""The scheduler of the job that is running, for the code that dispatches work.

A job command opens a :func:`scheduler_scope` around its runner. Where the
job hands out heavy work (LightGBM training, a Monte-Carlo simulation),
the job's code asks :func:`active_client` for a Dask client: ``None``
means "do it in process", as it always did; a client means "send it to
the cluster". The cluster starts at that first request, so everything the
job validates before its heavy work is checked before any worker starts,
and it stops when the scope closes.

Outside a scope (library calls, tests, work already running on a Dask
worker) :func:`active_client` is always ``None``: no global Dask client is
ever picked up by accident.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from spmopt.scale.cluster import dask_client
from spmopt.scale.config import (
    LARGE_JOB_SIZE,
    SCHEDULER_ENV,
    SchedulerConfig,
    resolve_scheduler,
)


@dataclass
class SchedulerScope:
    """The execution setting of one job and, once started, its client.

    Attributes
    ----------
    setting : SchedulerConfig
        Resolved from the command line, environment and config.
    explicit : bool
        True when the setting was given somewhere (not the default), so
        the size of the work does not change it.
    large_size : int
        Work of this size or more starts a local cluster when no setting
        was given (see :data:`~spmopt.scale.config.LARGE_JOB_SIZE`).
    """

    setting: SchedulerConfig
    explicit: bool
    large_size: int = LARGE_JOB_SIZE
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)
    _client: Any = field(default=None, repr=False)
    _started: bool = field(default=False, repr=False)

    def client(self, size: int | None = None) -> Any:
        """The Dask client, started on first use; None for in-process work.

        Parameters
        ----------
        size : int, optional
            Size of the work about to be dispatched (rows, or simulated
            values); with no setting given anywhere, work of
            ``large_size`` or more starts a local cluster.
        """
        if not self._started:
            setting = self.setting
            large = size is not None and size >= self.large_size
            if not self.explicit and large:
                setting = SchedulerConfig(mode="local")
            self._client = self._stack.enter_context(dask_client(setting))
            self._started = True
        return self._client

    @property
    def started(self) -> bool:
        """True once work of this job went to a Dask cluster."""
        return self._client is not None

    @property
    def n_workers(self) -> int:
        """Workers of the started cluster (1 in process or not started)."""
        if self._client is None:
            return 1
        return len(self._client.scheduler_info()["workers"])

    def close(self) -> None:
        """Stop the cluster this scope started, if any."""
        self._stack.close()


_SCOPE: ContextVar[SchedulerScope | None] = ContextVar("spmopt_scope", default=None)


@contextmanager
def scheduler_scope(
    configured: SchedulerConfig | None = None,
    cli_value: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[SchedulerScope]:
    """Make the job's execution setting visible to :func:`active_client`.

    Parameters
    ----------
    configured : SchedulerConfig, optional
        The ``scheduler:`` section of the job's config.
    cli_value : str, optional
        The ``--scheduler`` value.
    environ : mapping, optional
        Environment holding ``SPMOPT_DASK_SCHEDULER``; default ``os.environ``.

    Raises
    ------
    ConfigError
        At once, when the command-line or environment value is malformed.
    """
    env = os.environ if environ is None else environ
    setting = resolve_scheduler(configured, cli_value, env)
    given = cli_value is not None or configured is not None
    scope = SchedulerScope(setting, given or bool(env.get(SCHEDULER_ENV, "").strip()))
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
        scope.close()


def active_client(size: int | None = None) -> Any:
    """The Dask client of the running job, or None to work in process.

    Parameters
    ----------
    size : int, optional
        Size of the work about to be dispatched (see
        :meth:`SchedulerScope.client`).
    """
    scope = _SCOPE.get()
    if scope is None:
        return None
    return scope.client(size)


@contextmanager
def client_scope(client: Any) -> Iterator[SchedulerScope]:
    """Send the jobs' heavy work to an existing ``client`` (left open).

    For library use and tests: inside, :func:`active_client` returns
    ``client`` (or None, for in-process work, when ``client`` is None).
    """
    scope = SchedulerScope(SchedulerConfig(mode="none"), explicit=True)
    scope._client, scope._started = client, True
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
