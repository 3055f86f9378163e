import os
from pathlib import Path

import mlflow
import pytest

from spmopt.errors import ConfigError
from spmopt.tracking import (
    check_store,
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
