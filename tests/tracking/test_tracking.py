import os
from pathlib import Path

import mlflow
import pytest

from spmopt.errors import ConfigError
from spmopt.tracking import (
    check_store,
    creation_lock_path,
    log_metrics,
    resolve_tracking_uri,
    tracked_run,
)


def test_precedence_config_then_env_then_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    assert resolve_tracking_uri("sqlite:///cfg.db") == "sqlite:///cfg.db"
    assert resolve_tracking_uri(None) == "sqlite:///env.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path / 'mlruns.db'}"


def test_run_records_params_and_finite_metrics(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with tracked_run("unit", "r1", uri, params={"k": 3}) as run:
        log_metrics({"auc": 0.7, "bad": float("nan"), "label": "x"})
    got = mlflow.MlflowClient(tracking_uri=uri).get_run(run.info.run_id)
    assert got.data.params == {"k": "3"}
    assert got.data.metrics == {"auc": 0.7}
    assert got.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())


def _status(uri: str, run_id: str) -> str:
    return str(mlflow.MlflowClient(tracking_uri=uri).get_run(run_id).info.status)


@pytest.mark.parametrize(
    ("error", "status"),
    [(KeyboardInterrupt, "KILLED"), (SystemExit, "KILLED"), (ValueError, "FAILED")],
)
def test_a_stopped_block_ends_the_run_killed_or_failed(
    tmp_path: Path, error: type[BaseException], status: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with pytest.raises(error), tracked_run("unit", "r", uri) as run:
        raise error()
    assert _status(uri, run.info.run_id) == status
    assert mlflow.active_run() is None
    with tracked_run("unit", "r2", uri) as run:
        pass
    assert _status(uri, run.info.run_id) == "FINISHED"


def test_a_run_is_ended_even_when_the_first_end_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    real = mlflow.MlflowClient.set_terminated
    calls: list[str] = []

    def locked_once(self: mlflow.MlflowClient, run_id: str, status: str) -> None:
        calls.append(status)
        if len(calls) == 1:  # as after a write that Ctrl-C cut short
            raise mlflow.exceptions.MlflowException("database is locked")
        real(self, run_id, status)

    monkeypatch.setattr(mlflow.MlflowClient, "set_terminated", locked_once)
    with pytest.raises(KeyboardInterrupt), tracked_run("unit", "r", uri) as run:
        raise KeyboardInterrupt
    assert calls == ["KILLED", "KILLED"]
    assert _status(uri, run.info.run_id) == "KILLED"
    assert mlflow.active_run() is None


def test_a_corrupt_sqlite_store_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "mlruns.db"
    db.write_text("garbage\n")
    uri = f"sqlite:///{db}"
    with pytest.raises(ConfigError, match="is not a usable MLflow database"):
        check_store(uri)
    with (
        pytest.raises(ConfigError, match=f"tracking store {uri} is not"),
        tracked_run("unit", "r", uri),
    ):
        pytest.fail("the block must not run")
    assert db.read_text() == "garbage\n"


def test_an_unreachable_server_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    uri = "http://127.0.0.1:1"  # loopback, closed port
    with pytest.raises(ConfigError, match=r"http://127\.0\.0\.1:1 cannot be reached"):
        check_store(uri)
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # restored


def test_a_fresh_sqlite_store_passes_the_check(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path / 'new.db'}")


def _locked_by_someone(path: Path) -> bool:
    """Whether an exclusive ``flock`` on ``path`` is held (by another handle)."""
    import fcntl

    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def test_a_new_sqlite_store_is_created_under_an_exclusive_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.store.db.utils as db_utils

    uri = f"sqlite:///{tmp_path / 'new.db'}"
    lock = creation_lock_path(uri)
    assert lock is not None
    seen: list[bool] = []
    real = db_utils._initialize_tables

    def spy(engine: object) -> None:
        seen.append(_locked_by_someone(lock))
        real(engine)

    monkeypatch.setattr(db_utils, "_initialize_tables", spy)
    check_store(uri)
    assert seen == [True]  # created while the lock was held
    assert not lock.exists()  # released and removed afterwards
    check_store(uri)  # a store that exists: checked again under a new lock
    assert not lock.exists()


_CHECK = (
    "import sys; from spmopt.tracking import check_store, ensure_experiment; "
    "check_store(sys.argv[1]); print(ensure_experiment('race', sys.argv[1]))"
)


def test_commands_started_together_share_one_new_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHECK, uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert len({out for _, out, _ in results}) == 1  # one experiment id
    assert all("Creating initial" not in err for _, _, err in results)


def test_a_locked_store_error_does_not_advise_moving_it(tmp_path: Path) -> None:
    from spmopt.tracking import _store_error

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    error = _store_error(uri, RuntimeError("table latest_metrics already exists"))
    assert "move the file away" not in str(error)
    assert "run the command again" in str(error)
