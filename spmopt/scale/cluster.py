"""Open and close the Dask client of one job.

:func:`dask_client` yields ``None`` for in-process work, or a
:class:`distributed.Client` connected to a ``LocalCluster`` that it starts
(worker processes and scheduler bound to 127.0.0.1, dashboard off unless
asked, and then on 127.0.0.1 only) and stops on exit, or to an existing
scheduler at a configured address, which it leaves running.
"""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from spmopt._logging import logger
from spmopt.errors import ConfigError
from spmopt.runs import deferred_signals, on_signal
from spmopt.scale.config import _HOST_PORT, SchedulerConfig

LOOPBACK = "127.0.0.1"


@contextmanager
def dask_client(cfg: SchedulerConfig | None = None) -> Iterator[Any]:
    """Yield the Dask client for ``cfg``, or None for in-process work.

    Parameters
    ----------
    cfg : SchedulerConfig, optional
        Execution setting; default in-process.

    Yields
    ------
    distributed.Client or None
        A client owned by this context: closed on exit, together with the
        local cluster it started, if any.

    Raises
    ------
    ConfigError
        When the configured scheduler address cannot be reached.
    """
    cfg = cfg or SchedulerConfig()
    if cfg.mode == "none":
        yield None
    elif cfg.mode == "local":
        with _local_client(cfg) as client:
            yield client
    else:
        with _remote_client(cfg) as client:
            yield client


@contextmanager
def _local_client(cfg: SchedulerConfig) -> Iterator[Any]:
    import dask
    import distributed  # noqa: F401  (its config defaults, before the change)

    # Workers that may start child processes (a sweep task with a time
    # limit runs in one, killed when it overruns: spmopt.scale.sweep), and
    # glibc's default memory trimming: Dask's MALLOC_TRIM_THRESHOLD_ makes
    # every large numpy array a fresh mmap, which slowed Monte-Carlo
    # batches by 25-40 % on the build machine.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    settings = {
        "distributed.worker.daemon": False,
        "distributed.nanny.pre-spawn-environ": environ,
    }
    with dask.config.set(settings), _started_cluster(cfg) as client:
        yield client


@contextmanager
def _started_cluster(cfg: SchedulerConfig) -> Iterator[Any]:
    """A client of a new local cluster; stopped at once if the block fails.

    Ctrl-C or SIGTERM while the cluster starts kills the worker processes
    started so far, so the start fails at once and the cluster closes
    itself; the signal is then raised (a second one is raised at once).
    After a failure or a signal in the block, see :func:`_stop_now`.
    """
    from distributed import Client

    before, mute = _child_pids(), _DaskLogMute()
    cluster = None

    def halt() -> None:  # at the signal itself, before the job unwinds
        mute.on()
        _halt_workers(cluster, before)

    try:
        with deferred_signals(second_raises=True, on_signal=halt):
            cluster = _new_cluster(cfg)
        with on_signal(halt), Client(cluster) as client:
            _quiet_workers(client)
            logger.info(
                "dask: local cluster of %d workers x %d threads at %s",
                cfg.n_workers,
                cfg.threads_per_worker,
                cluster.scheduler_address,
            )
            yield client
    except BaseException:
        mute.on()
        _stop_now(cluster, before)
        raise
    finally:
        mute.off()
    with deferred_signals():
        cluster.close()


def _new_cluster(cfg: SchedulerConfig) -> Any:
    """Start a ``LocalCluster`` of worker processes on the loopback address."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=cfg.n_workers,
        threads_per_worker=cfg.threads_per_worker,
        processes=True,
        host=LOOPBACK,
        dashboard_address=None,
        worker_dashboard_address=None,
        scheduler_kwargs={
            "dashboard": cfg.dashboard,
            "dashboard_address": f"{LOOPBACK}:0",
        },
        memory_limit=cfg.memory_limit,
    )


def _stop_now(cluster: Any, before: set[int]) -> None:
    """Stop a local cluster after Ctrl-C, SIGTERM or an error, without waiting.

    A graceful close waits for running tasks (the nanny kills a busy worker
    only after 4 s) and logs each cancelled task and lost result. Here the
    nannies are told not to restart their workers, the worker processes
    started since ``before`` are killed with their children (a sweep task's
    process), and the cluster is then closed. The caller mutes Dask's log
    first (see :class:`_DaskLogMute`). A signal arriving meanwhile is held
    until the stop is done.
    """
    with deferred_signals():
        _halt_workers(cluster, before)
        if cluster is not None:
            with suppress(Exception):
                cluster.close(timeout=STOP_TIMEOUT_SECONDS)
        _kill_children(before)  # any worker a nanny was still starting


def _halt_workers(cluster: Any, before: set[int]) -> None:
    """Kill the cluster's worker processes; their nannies do not restart them.

    ``cluster`` is None while it starts: killing its first workers makes
    the start fail at once (the cluster then closes itself).
    """
    if cluster is not None:
        for nanny in list(cluster.workers.values()):
            nanny.close_gracefully(reason="spmopt-stop")
    _kill_children(before)


STOP_TIMEOUT_SECONDS = 10.0
"""Longest wait for a local cluster to close once its workers are killed."""


def _child_pids() -> set[int]:
    """Process ids of the child processes this process started and still has."""
    import multiprocessing

    return {int(child.pid) for child in multiprocessing.active_children() if child.pid}


def _kill_children(before: set[int]) -> None:
    """Kill (SIGKILL) the child processes not in ``before``, and their children.

    Only this process's own children are waited for (and reaped); their
    children die at once but are left to the system to reap.
    """
    import psutil  # a dependency of distributed

    children, doomed = [], []
    for pid in _child_pids() - before:
        with suppress(psutil.Error):
            child = psutil.Process(pid)
            children.append(child)
            doomed += [child, *child.children(recursive=True)]
    for process in doomed:
        with suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(children, timeout=STOP_TIMEOUT_SECONDS)
    _child_pids()  # reaps the killed children


class _DaskLogMute(logging.Filter):
    """Drops what Dask logs in this process (scheduler, nannies, client).

    Switched on once a cluster is being stopped after a signal or an
    error, when Dask would report each killed worker, cancelled task and
    lost result; switched off once the cluster is closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._handlers: set[logging.Handler] = set()
        self._on = False

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop every record."""
        return False

    def on(self) -> None:
        """Mute the ``distributed`` and ``tornado`` handlers and ``asyncio``.

        asyncio reports a failed message to a killed worker ("Future
        exception was never retrieved") through its own logger.
        """
        for name in ("distributed", "tornado"):
            self._handlers.update(logging.getLogger(name).handlers)
        for handler in self._handlers:
            handler.addFilter(self)
        logging.getLogger("asyncio").addFilter(self)
        self._on = True

    def off(self) -> None:
        """Unmute what :meth:`on` muted, once the dead futures are collected."""
        if not self._on:
            return
        self._on = False
        gc.collect()  # asyncio reports an unread failure when it is collected
        for handler in self._handlers:
            handler.removeFilter(self)
        self._handlers.clear()
        logging.getLogger("asyncio").removeFilter(self)


def _quiet_workers(client: Any) -> None:
    """Keep this local cluster's workers off the command's output.

    Drops the heartbeat race they log at shutdown (narrow on purpose: one
    message, one logger, only while a worker closes), sends their
    standard output, where native libraries print, to the null device, and
    has them ignore Ctrl-C, which a terminal sends to every process of the
    command: this process stops them (see :mod:`spmopt.scale._quiet`).
    """
    from spmopt.scale._quiet import IgnoreCtrlC, MuteStdout, QuietShutdown

    client.register_plugin(QuietShutdown())
    client.register_plugin(MuteStdout())
    client.register_plugin(IgnoreCtrlC())


@contextmanager
def _remote_client(cfg: SchedulerConfig) -> Iterator[Any]:
    _probe(cfg)
    client = _connect(cfg)
    try:
        logger.info("dask: connected to scheduler at %s", cfg.address)
        yield client
    finally:
        client.close()


def _connect(cfg: SchedulerConfig) -> Any:
    """A client of the scheduler at ``cfg.address``, started within the timeout.

    Dask's ``timeout`` bounds only opening the connection: the scheduler's
    handshake is then read with no deadline, so a port that accepts and
    never answers would hold the command forever. The whole start,
    handshake included, is given ``connect_timeout_seconds`` (see
    :func:`_bounded_client_class`).

    Raises
    ------
    ConfigError
        ``scheduler.address 'tcp://127.0.0.1:8786' could not be reached
        within 20 s: ...`` or ``... gave no Dask handshake within 20 s ...``.
    """
    timeout = cfg.connect_timeout_seconds
    try:
        return _bounded_client_class()(cfg.address, timeout=timeout)
    except _NoHandshakeError:
        raise ConfigError(
            f"scheduler.address {cfg.address!r} accepted the connection but gave "
            f"no Dask handshake within {timeout:g} s (connect_timeout_seconds); "
            "check that a Dask scheduler listens there or give another address"
        ) from None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"scheduler.address {cfg.address!r} could not be reached "
            f"within {timeout:g} s: {exc}"
        ) from None


class _NoHandshakeError(Exception):
    """The client's start ran out of time (handshake included)."""


def _bounded_client_class() -> type:
    """``distributed.Client`` whose start, handshake included, has a deadline.

    ``Client.start`` hands its keywords to ``distributed.utils.sync``,
    whose ``callback_timeout`` bounds the whole start; on expiry the
    half-started client is closed (its event-loop thread stopped) and
    :class:`_NoHandshakeError` is raised. A connection Dask gave up opening is
    its own ``OSError`` and passes through.
    """
    from distributed import Client

    class BoundedClient(Client):  # type: ignore[misc]
        def start(self, **kwargs: Any) -> None:
            deadline = kwargs.get("timeout")
            try:
                super().start(callback_timeout=deadline, **kwargs)
            except TimeoutError:  # refused or unreachable is another OSError
                with suppress(Exception):
                    self.close(timeout=STOP_TIMEOUT_SECONDS)
                raise _NoHandshakeError from None

    return BoundedClient


def _probe(cfg: SchedulerConfig) -> None:
    """Fail at once when nothing listens at a ``tcp://`` or ``tls://`` address.

    One plain connection to the scheduler's port (closed straight away):
    a refused one is said in one line now, where Dask's client would keep
    retrying for ``connect_timeout_seconds``. Other schemes go to Dask.

    Raises
    ------
    ConfigError
        ``scheduler.address 'tcp://127.0.0.1:1' could not be reached
        (connection refused); ...``.
    """
    assert cfg.address is not None
    scheme, _, rest = cfg.address.partition("://")
    match = _HOST_PORT.match(rest)
    if scheme not in ("tcp", "tls") or match is None or not match["port"].isdigit():
        return
    where = (match["host"].strip("[]"), int(match["port"]))
    try:
        with socket.create_connection(where, timeout=cfg.connect_timeout_seconds):
            pass
    except OSError as exc:
        reason = _reason(exc, cfg.connect_timeout_seconds)
        raise ConfigError(
            f"scheduler.address {cfg.address!r} could not be reached ({reason}); "
            "start the scheduler there or give another address"
        ) from None


def _reason(exc: OSError, timeout: float) -> str:
    """Why a connection failed, lower case, e.g. ``connection refused``."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def release(futures: Iterable[Any]) -> None:
    """Let the cluster forget ``futures``: results freed, pending work stopped.

    Use this, not ``Client.cancel``, to drop a job's futures once their
    results are in (or the job failed). ``cancel`` also cancels every task
    that depends on a cancelled one, and the scheduler of ``distributed``
    asserts that each of those is still wanted by a client. A dependent
    whose future the job already let go (an intermediate merge of a tree
    of merges, a training task on persisted data) fails that assertion:
    the scheduler then drops the client's connection, logging an
    ``AssertionError`` in ``register-client``, and the client's attempt to
    reconnect while the cluster shuts down logs a ``CancelledError``.
    Releasing a future only says this client no longer wants it; a task
    nobody wants is forgotten, and stops if it has not run.

    Parameters
    ----------
    futures : iterable of distributed.Future or persisted Dask collections
    """
    from distributed import futures_of

    for future in futures_of(list(futures)):
        future.release()


def worker_count(client: Any) -> int:
    """Number of workers behind ``client`` (1 for in-process work)."""
    if client is None:
        return 1
    return len(client.scheduler_info()["workers"])
