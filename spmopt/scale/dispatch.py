"""The execution setting on the jobs themselves.

``spmopt forecast train``, ``spmopt quota set``, ``spmopt quota
potential`` and ``spmopt payout simulate`` take ``--scheduler``, read
``SPMOPT_DASK_SCHEDULER`` and accept a ``scheduler:`` section in their
config (precedence: command line, then environment, then config, then in
process). Their configs are the job's own plus that section
(:class:`ScheduledForecastConfig`, :class:`ScheduledQuotaConfig`,
:class:`ScheduledPotentialConfig`, :class:`ScheduledSimulateConfig`) and
their runners are wrapped by :func:`on_scheduler`, which opens a
:func:`~spmopt.scale.context.scheduler_scope` around the job. The job
dispatches its heavy work to the cluster where it asks for it
(:func:`~spmopt.scale.context.active_client`):

- forecast training: the LightGBM booster through ``lightgbm.dask``
  (:mod:`spmopt.scale.training`);
- quota attainment: seeded scenario batches (:mod:`spmopt.scale.attainment`);
- quota potential: one task per quantile model (:mod:`spmopt.scale.quantiles`);
- payout simulation: runs of the simulator's chunks
  (:mod:`spmopt.scale.simulation`).

The files a job writes have the same names and columns either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from spmopt.forecast.config import ForecastConfig
from spmopt.payout.simulate import SimulateConfig
from spmopt.quota.config import PotentialConfig, QuotaConfig
from spmopt.runs import RunWriter
from spmopt.scale.config import SchedulerConfig, resolve_scheduler
from spmopt.scale.context import scheduler_scope

C = TypeVar("C")
Runner = Callable[[C, RunWriter, int], dict[str, Any]]


class ScheduledForecastConfig(ForecastConfig):
    """A ``forecast train`` config with an optional ``scheduler:`` section.

    Parameters
    ----------
    scheduler : SchedulerConfig, optional
        Where the LightGBM booster trains (see :mod:`spmopt.scale.config`).
    """

    scheduler: SchedulerConfig | None = None


class ScheduledQuotaConfig(QuotaConfig):
    """A ``quota set`` config with an optional ``scheduler:`` section.

    Parameters
    ----------
    scheduler : SchedulerConfig, optional
        Where the attainment Monte-Carlo runs.
    """

    scheduler: SchedulerConfig | None = None


class ScheduledPotentialConfig(PotentialConfig):
    """A ``quota potential`` config with an optional ``scheduler:`` section.

    Parameters
    ----------
    scheduler : SchedulerConfig, optional
        Where the quantile models train (one task per quantile).
    """

    scheduler: SchedulerConfig | None = None


class ScheduledSimulateConfig(SimulateConfig):
    """A ``payout simulate`` config with an optional ``scheduler:`` section.

    Parameters
    ----------
    scheduler : SchedulerConfig, optional
        Where the simulated years are priced.
    """

    scheduler: SchedulerConfig | None = None


def on_scheduler(runner: Runner[C], cli_value: str | None = None) -> Runner[C]:
    """Wrap a job runner so that it runs under the job's execution setting.

    Parameters
    ----------
    runner : callable
        ``runner(config, writer, seed) -> headline``.
    cli_value : str, optional
        The ``--scheduler`` value; checked here, with
        ``SPMOPT_DASK_SCHEDULER``, before any file is written.

    Returns
    -------
    callable
        The same signature. When the job used a cluster, its headline
        gains ``dask_workers``.
    """
    resolve_scheduler(None, cli_value)

    def run(cfg: C, out: RunWriter, seed: int) -> dict[str, Any]:
        configured = getattr(cfg, "scheduler", None)
        with scheduler_scope(configured, cli_value) as scope:
            headline = runner(cfg, out, seed)
            if scope.started:
                headline = {**headline, "dask_workers": scope.n_workers}
        return headline

    return run
