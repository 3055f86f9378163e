"""The one execution setting: where Dask work runs.

A job runs in-process (``none``), on a :class:`distributed.LocalCluster`
that spmopt starts on the loopback interface and stops when done
(``local``), or on an existing Dask scheduler (``address``). The setting
comes, in order of precedence, from a command-line value (``--scheduler``),
the ``SPMOPT_DASK_SCHEDULER`` environment variable, the job's config
(``scheduler:`` section), or the default: in-process, or a local cluster
for a job of ``LARGE_JOB_SIZE`` values or more. The environment beats the
config so that one shell or batch system can send every job to its
cluster without editing each config.

The command-line and environment forms are one string:

- ``none`` (or ``in-process``): no Dask at all;
- ``local`` or ``local:N``: a local cluster of N worker processes;
- ``tcp://host:port`` (or ``tls://``, ``ucx://``, ``inproc://``): an
  existing scheduler.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spmopt.config import Config
from spmopt.errors import ConfigError

SCHEDULER_ENV = "SPMOPT_DASK_SCHEDULER"
"""Environment variable holding a scheduler string (see module docstring)."""

SCHEDULER_HELP = (
    "Where Dask work runs: 'none' (in-process), 'local' or 'local:N' "
    "(a local cluster of N workers on 127.0.0.1), or a scheduler address "
    f"'tcp://host:port'. Default: ${SCHEDULER_ENV}, else the config's "
    "scheduler: section, else none (a local cluster for very large jobs)."
)

LARGE_JOB_SIZE = 50_000_000
"""Job size (rows, or simulated values) from which a local cluster is the
default: about 400 MB of float64, where one process starts to strain a
small machine."""

_ADDRESS_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")
_MAX_LOCAL_WORKERS = 64
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>[^/]*)$")
"""``host:port`` after the scheme; an IPv6 host is written in brackets."""
_ADDRESS_FORMS = (
    "'none', 'local', 'local:N' (N from 1 to 64) or a scheduler address "
    "SCHEME://HOST:PORT (SCHEME tcp, tls or ucx; PORT from 1 to 65535; "
    "e.g. 'tcp://127.0.0.1:8786') or inproc://NAME"
)


class SchedulerConfig(Config):
    """Where and how Dask tasks run.

    Parameters
    ----------
    mode : {"none", "local", "address"}
        ``none`` runs everything in the calling process; ``local`` starts a
        ``LocalCluster`` of worker processes bound to 127.0.0.1; ``address``
        connects to the scheduler at ``address``.
    address : str, optional
        Scheduler address, e.g. ``tcp://10.0.0.5:8786``; required for, and
        only allowed with, ``mode: address``.
    n_workers : int
        Worker processes of a local cluster (1-64).
    threads_per_worker : int
        Threads in each local worker (1-64). Keep ``n_workers *
        threads_per_worker`` at or below the machine's cores.
    memory_limit : str
        Memory limit per local worker, e.g. ``"2GiB"``, or ``"auto"``
        (the machine's memory split over the workers).
    dashboard : bool
        Serve the Dask dashboard of a local cluster on 127.0.0.1 (a free
        port). Off by default.
    connect_timeout_seconds : float
        How long to try reaching a scheduler address, seconds.
    """

    mode: Literal["none", "local", "address"] = "none"
    address: str | None = None
    n_workers: int = Field(default=2, ge=1, le=_MAX_LOCAL_WORKERS)
    threads_per_worker: int = Field(default=1, ge=1, le=64)
    memory_limit: str = "auto"
    dashboard: bool = False
    connect_timeout_seconds: float = Field(default=20.0, gt=0, le=600)

    @field_validator("memory_limit")
    @classmethod
    def _check_memory_limit(cls, value: str) -> str:
        if value == "auto":
            return value
        from dask.utils import parse_bytes

        try:
            size = parse_bytes(value)
        except (ValueError, TypeError):
            size = 0
        if size <= 0:
            raise ValueError("must be 'auto' or a positive size such as '2GiB'")
        return value

    @model_validator(mode="after")
    def _check_address(self) -> SchedulerConfig:
        if self.mode == "address":
            if not self.address or not self.address.startswith(_ADDRESS_SCHEMES):
                allowed = ", ".join(_ADDRESS_SCHEMES)
                raise ValueError(
                    f"mode 'address' needs an address starting with {allowed}, "
                    f"got {self.address!r}"
                )
            problem = address_problem(self.address)
            if problem:
                raise ValueError(f"address {self.address!r}: {problem}")
        elif self.address is not None:
            raise ValueError(
                f"address {self.address!r} is only used with mode 'address', "
                f"got mode {self.mode!r}"
            )
        return self

    @property
    def distributed(self) -> bool:
        """True when work goes to Dask workers rather than this process."""
        return self.mode != "none"


def parse_scheduler(text: str, source: str = "--scheduler") -> SchedulerConfig:
    """Turn a scheduler string into a :class:`SchedulerConfig`.

    Parameters
    ----------
    text : str
        ``none``, ``in-process``, ``local``, ``local:N`` or an address such
        as ``tcp://127.0.0.1:8786``.
    source : str
        Where the string came from, used in error messages.

    Raises
    ------
    ConfigError
        When the string is none of the forms above.
    """
    value = text.strip()
    lowered = value.lower()
    if lowered in ("none", "in-process", ""):
        return SchedulerConfig(mode="none")
    if lowered == "local":
        return SchedulerConfig(mode="local")
    if lowered.startswith("local:"):
        return SchedulerConfig(mode="local", n_workers=_worker_count(value, source))
    problem = address_problem(value) if value.startswith(_ADDRESS_SCHEMES) else ""
    if value.startswith(_ADDRESS_SCHEMES) and not problem:
        return SchedulerConfig(mode="address", address=value)
    if problem:
        raise ConfigError(f"{source} {text!r}: {problem}; allowed: {_ADDRESS_FORMS}")
    raise ConfigError(f"{source} must be {_ADDRESS_FORMS}, got {text!r}")


def address_problem(address: str) -> str:
    """What is wrong with a scheduler ``address``; ``""`` when it is usable.

    Only the form is checked (``SCHEME://HOST:PORT``, or ``inproc://NAME``);
    nothing is contacted.
    """
    scheme, _, rest = address.partition("://")
    if scheme == "inproc":
        return "" if rest else "inproc:// needs a name after it"
    match = _HOST_PORT.match(rest)
    if match is None:
        return f"{scheme}:// needs HOST:PORT after it"
    port = match.group("port")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"port {port!r} is not a whole number from 1 to 65535"
    return ""


def _worker_count(value: str, source: str) -> int:
    count = value.split(":", 1)[1]
    if not count.isdigit() or not 1 <= int(count) <= _MAX_LOCAL_WORKERS:
        raise ConfigError(
            f"{source}: worker count in {value!r} must be an integer "
            f"from 1 to {_MAX_LOCAL_WORKERS}"
        )
    return int(count)


def resolve_scheduler(
    configured: SchedulerConfig | None = None,
    cli_value: str | None = None,
    environ: Mapping[str, str] | None = None,
    size: int | None = None,
    large_size: int = LARGE_JOB_SIZE,
) -> SchedulerConfig:
    """The scheduler setting in force for one job.

    Parameters
    ----------
    configured : SchedulerConfig, optional
        The ``scheduler:`` section of the job's config, if it has one.
    cli_value : str, optional
        The ``--scheduler`` command-line value, if given.
    environ : mapping, optional
        Environment to read ``SPMOPT_DASK_SCHEDULER`` from; default
        ``os.environ``.
    size : int, optional
        Size of the job (rows to train on, or scenarios x reps x periods
        to simulate), when known.
    large_size : int
        From this size on, a job with no setting anywhere runs on a local
        cluster instead of in process.

    Returns
    -------
    SchedulerConfig
        From the command line, else the environment, else the config,
        else a local cluster for a large job, else in-process.
    """
    if cli_value is not None:
        return parse_scheduler(cli_value, "--scheduler")
    env = os.environ if environ is None else environ
    text = env.get(SCHEDULER_ENV, "").strip()
    if text:
        return parse_scheduler(text, SCHEDULER_ENV)
    if configured is not None:
        return configured
    if size is not None and size >= large_size:
        return SchedulerConfig(mode="local")
    return SchedulerConfig()
