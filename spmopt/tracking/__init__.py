"""MLflow helpers: one place that decides where runs are recorded.

The tracking store is, in order of precedence: the URI given in a job's
config, the ``MLFLOW_TRACKING_URI`` environment variable, or a local
SQLite file ``mlruns.db`` in the working directory (no server needed).
Artifacts of the local default go to ``mlartifacts/`` beside it.
Only MLflow's public API is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spmopt._logging import logger
from spmopt.errors import ConfigError
from spmopt.runs import deferred_signals

DEFAULT_DB = "mlruns.db"
DEFAULT_ARTIFACTS = "mlartifacts"
QUICK_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}
"""MLflow HTTP settings for the store check, unless the user set them."""
_SQLITE_HEADER = b"SQLite format 3\x00"
CREATE_LOCK_SECONDS = 120.0
"""How long a command waits for another one to create the same SQLite store."""
_NOT_SQLITE = "the file is not an SQLite database"
_NOISY_LOGGERS = ("mlflow.store.db.utils", "alembic")
"""MLflow's first-use INFO lines ("Creating initial MLflow database tables...")."""


def resolve_tracking_uri(configured: str | None = None) -> str:
    """Tracking URI from config, else environment, else local SQLite."""
    if configured:
        return configured
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def _artifact_location(uri: str, experiment: str) -> str | None:
    if not uri.startswith("sqlite:///"):
        return None
    db_path = Path(uri[len("sqlite:///") :])
    return (db_path.parent / DEFAULT_ARTIFACTS / experiment).as_uri()


def ensure_experiment(experiment: str, tracking_uri: str) -> str:
    """Return the id of ``experiment``, creating it if needed."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    location = _artifact_location(tracking_uri, experiment)
    try:
        return str(client.create_experiment(experiment, artifact_location=location))
    except Exception:
        found = client.get_experiment_by_name(experiment)  # another command
        if found is None:  # created it meanwhile, or the error is real
            raise
        return str(found.experiment_id)


def check_store(uri: str) -> None:
    """Fail fast, with one clear message, when ``uri`` is not a usable store.

    A local SQLite file must be an SQLite database; any store must answer
    a cheap query. For a server, MLflow's HTTP retries are turned off and
    its timeout lowered to 5 s for this one query (unless the user set
    ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` / ``MLFLOW_HTTP_REQUEST_TIMEOUT``),
    so an unreachable server is reported in seconds, not minutes.

    Raises
    ------
    ConfigError
        Naming the URI and what is wrong with it.
    """
    _check_sqlite_file(uri)
    import mlflow

    _quiet_store_setup()
    with _quick_http(), _creation_lock(uri):
        try:
            mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        except Exception as exc:
            raise _store_error(uri, exc) from None


def _quiet_store_setup() -> None:
    """Hide MLflow's INFO lines about creating or upgrading its tables."""
    for name in _NOISY_LOGGERS:
        named = logging.getLogger(name)
        if named.getEffectiveLevel() < logging.WARNING:
            named.setLevel(logging.WARNING)


def creation_lock_path(uri: str) -> Path | None:
    """The lock file guarding creation of the SQLite store ``uri``.

    It lives in the temporary folder, named by a hash of the database's
    absolute path, so commands started together in one folder create the
    store one after the other. ``None`` for stores that are not local files.
    """
    if not uri.startswith("sqlite:///"):
        return None
    db_path = Path(uri[len("sqlite:///") :]).resolve()
    digest = hashlib.sha256(str(db_path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"spmopt-store-{digest}.lock"


@contextmanager
def _creation_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on :func:`creation_lock_path` while the block runs.

    MLflow creates and migrates a new SQLite store on first use; two
    commands doing it at once fail with "table ... already exists". The
    wait is bounded by :data:`CREATE_LOCK_SECONDS`; after that (or where
    file locks are not available) the block runs unguarded. The lock file
    is removed when the block ends, so none is left behind.
    """
    path = creation_lock_path(uri)
    handle = None if path is None else _lock(path, CREATE_LOCK_SECONDS)
    try:
        yield
    finally:
        if handle is not None and path is not None:
            _unlock(handle, path)


def _lock(path: Path, seconds: float) -> Any:
    """The lock file opened and exclusively locked, or ``None``.

    ``None`` when locking is not possible here or the wait ran out. A
    holder removes the file before it lets go, so a waiter that then gets
    the lock on the removed file opens the path again.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            import fcntl  # noqa: F401  (POSIX only)

            handle = open(path, "a+b")  # noqa: SIM115  (held past here)
        except (ImportError, OSError):
            return None
        if not _acquire(handle.fileno(), deadline, path):
            handle.close()
            return None
        if _is_current(handle.fileno(), path):
            return handle
        handle.close()


def _is_current(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fd`` (not removed since)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _unlock(handle: Any, path: Path) -> None:
    """Remove the lock file, then release the lock and close it."""
    import fcntl

    with contextlib.suppress(OSError):
        path.unlink()
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()


def _acquire(fd: int, deadline: float, path: Path) -> bool:
    """Take an exclusive ``flock`` on ``fd``, polling until ``deadline``."""
    import fcntl

    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                logger.warning(
                    "another command held %s for %.0f s; going on without it",
                    path,
                    CREATE_LOCK_SECONDS,
                )
                return False
            time.sleep(0.05)


def _check_sqlite_file(uri: str) -> None:
    """Refuse a ``sqlite:///`` file that is not an SQLite database."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///") :])
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return  # MLflow creates it
    except OSError as exc:
        raise _store_error(uri, exc) from None
    if head and head != _SQLITE_HEADER:
        raise _store_error(uri, ValueError(_NOT_SQLITE))


def _store_error(uri: str, exc: BaseException) -> ConfigError:
    """The one-line error for an unusable tracking store."""
    text = str(exc).strip()
    errno = re.search(r"\[Errno -?\d+\] [^'\")]*", text)
    reason = errno.group(0) if errno else (text.splitlines() or [""])[0]
    reason = f"{type(exc).__name__}: {reason}"
    reason = reason if len(reason) <= 200 else reason[:197] + "..."
    if uri.startswith("sqlite:///") and _NOT_SQLITE in reason:
        return ConfigError(
            f"tracking store {uri} is not a usable MLflow database ({reason}); "
            "move the file away or choose another store (MLFLOW_TRACKING_URI "
            "or the config's tracking URI)"
        )
    if uri.startswith("sqlite:///"):
        return ConfigError(
            f"cannot use tracking store {uri} ({reason}); if another program "
            "was writing to it, run the command again, otherwise choose another "
            "store (MLFLOW_TRACKING_URI or the config's tracking URI)"
        )
    if uri.startswith(("http://", "https://")):
        return ConfigError(
            f"tracking store {uri} cannot be reached ({reason}); start the MLflow "
            "server, or choose another store (MLFLOW_TRACKING_URI or the config's "
            "tracking URI)"
        )
    return ConfigError(
        f"cannot read tracking store {uri} ({reason}); use a sqlite:///FILE.db or "
        "http(s)://HOST:PORT store (MLFLOW_TRACKING_URI or the config's tracking "
        "URI)"
    )


@contextmanager
def _quick_http() -> Iterator[None]:
    """Apply :data:`QUICK_HTTP` to the environment while the block runs."""
    added = [name for name in QUICK_HTTP if name not in os.environ]
    os.environ.update({name: QUICK_HTTP[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tracking_uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Open an MLflow run and yield the active run object.

    Parameters
    ----------
    experiment : str
        Experiment name, e.g. ``"spmopt-territory"``.
    run_name : str
        Human-readable run name.
    tracking_uri : str, optional
        Overrides the default resolution (see module docstring).
    params, tags : mapping, optional
        Logged at the start of the run.

    Raises
    ------
    ConfigError
        When the store is unusable (see :func:`check_store`); checked
        before anything is logged.

    Notes
    -----
    The run ends FINISHED when the block completes, KILLED when it is
    interrupted (Ctrl-C, SIGTERM) and FAILED on any other error; a store
    that cannot record the end is reported as a warning, and the block's
    own exception is raised.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    check_store(uri)
    mlflow.set_tracking_uri(uri)
    try:
        experiment_id = ensure_experiment(experiment, uri)
    except Exception as exc:
        raise _store_error(uri, exc) from None
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name)
    try:
        if params:
            mlflow.log_params({k: _param(v) for k, v in params.items()})
        if tags:
            mlflow.set_tags(dict(tags))
        logger.debug("mlflow run %s in %s", run.info.run_id, uri)
        yield run
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
        _end_run(run.info.run_id, uri, "KILLED" if stopped else "FAILED")
        raise
    _end_run(run.info.run_id, uri, "FINISHED")


def _end_run(run_id: str, uri: str, status: str) -> None:
    """End the active run as ``status``, even if the store hiccups once.

    Signals are held back meanwhile so the run is not left RUNNING. If the
    active-run bookkeeping fails (e.g. an interrupted write left SQLite
    locked), the status is set again through a fresh client.
    """
    import mlflow

    with deferred_signals():
        try:
            mlflow.end_run(status=status)
            return
        except Exception as exc:
            first = exc
        try:
            mlflow.MlflowClient(tracking_uri=uri).set_terminated(run_id, status)
        except Exception as exc:
            logger.warning(
                "MLflow run %s could not be marked %s (%s; then %s)",
                run_id,
                status,
                first,
                exc,
            )


def log_metrics(metrics: Mapping[str, Any]) -> None:
    """Log the finite numeric entries of ``metrics`` to the active run."""
    import math

    import mlflow

    clean = {}
    for key, value in metrics.items():
        if isinstance(value, int | float) and math.isfinite(float(value)):
            clean[key] = float(value)
    if clean:
        mlflow.log_metrics(clean)


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


__all__ = [
    "check_store",
    "creation_lock_path",
    "ensure_experiment",
    "log_metrics",
    "resolve_tracking_uri",
    "tracked_run",
]
