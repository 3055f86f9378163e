"""Open and close the Dask client of one job.

:func:`dask_client` yields ``None`` for in-process work, or a
:class:`distributed.Client` connected to a ``LocalCluster`` that it starts
(worker processes and scheduler bound to 127.0.0.1, dashboard off unless
asked, and then on 127.0.0.1 only) and stops on exit, or to an existing
scheduler at a configured address, which it leaves running.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from spmopt._logging import logger
from spmopt.errors import ConfigError
from spmopt.scale.config import SchedulerConfig

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
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
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
    try:
        with Client(cluster) as client:
            _quiet_workers(client)
            logger.info(
                "dask: local cluster of %d workers x %d threads at %s",
                cfg.n_workers,
                cfg.threads_per_worker,
                cluster.scheduler_address,
            )
            yield client
    finally:
        cluster.close()


def _quiet_workers(client: Any) -> None:
    """Keep this local cluster's workers off the command's output.

    Drops the heartbeat race they log at shutdown (narrow on purpose: one
    message, one logger, only while a worker closes) and sends their
    standard output, where native libraries print, to the null device
    (see :mod:`spmopt.scale._quiet`).
    """
    from spmopt.scale._quiet import MuteStdout, QuietShutdown

    client.register_plugin(QuietShutdown())
    client.register_plugin(MuteStdout())


@contextmanager
def _remote_client(cfg: SchedulerConfig) -> Iterator[Any]:
    from distributed import Client

    try:
        client = Client(cfg.address, timeout=cfg.connect_timeout_seconds)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"scheduler.address {cfg.address!r} could not be reached "
            f"within {cfg.connect_timeout_seconds:g} s: {exc}"
        ) from None
    try:
        logger.info("dask: connected to scheduler at %s", cfg.address)
        yield client
    finally:
        client.close()


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
