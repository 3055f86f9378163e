import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from spmopt.cli import main
from spmopt.errors import ConfigError
from spmopt.runs import RunDir
from spmopt.scale import SchedulerConfig, dask_client, worker_count


def test_in_process_setting_yields_no_client() -> None:
    with dask_client(SchedulerConfig()) as client:
        assert client is None
        assert worker_count(client) == 1


def test_local_cluster_listens_on_loopback_only(client_2: Any) -> None:
    info = client_2.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    assert "127.0.0.1" in client_2.dashboard_link


def test_address_mode_connects_to_a_running_scheduler(client_1: Any) -> None:
    address = client_1.scheduler_info()["address"]
    with dask_client(SchedulerConfig(mode="address", address=address)) as client:
        assert worker_count(client) == 1
        assert client.submit(sum, [1, 2, 3]).result() == 6
    assert client_1.submit(sum, [1]).result() == 1  # left running


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_address_is_a_config_error() -> None:
    address = f"tcp://127.0.0.1:{free_loopback_port()}"
    cfg = SchedulerConfig(mode="address", address=address, connect_timeout_seconds=1)
    with pytest.raises(ConfigError, match="could not be reached"), dask_client(cfg):
        pass


def test_local_cluster_is_stopped_on_exit_even_after_an_error() -> None:
    import os

    import psutil

    cfg = SchedulerConfig(mode="local", n_workers=1, dashboard=True)
    with pytest.raises(RuntimeError, match="job failed"), dask_client(cfg) as client:
        assert client.dashboard_link.startswith("http://127.0.0.1:")
        pids = list(client.run(os.getpid).values())
        raise RuntimeError("job failed")
    assert client.status == "closed"
    for pid in pids:
        if psutil.pid_exists(pid):
            psutil.Process(pid).wait(timeout=30)
        assert not psutil.pid_exists(pid)


def _worker_settings() -> tuple[bool, str | None]:
    import multiprocessing
    import os

    daemon = multiprocessing.current_process().daemon
    return daemon, os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_workers_may_have_children_and_keep_default_malloc(
    client_1: Any,
) -> None:
    assert set(client_1.run(_worker_settings).values()) == {(False, None)}


def _ctrl_c_the_command_then_sleep(sig: int, pid_file: str) -> None:
    """A task: start a process of its own, signal the command, then run on."""
    import os
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    Path(pid_file).write_text(str(child.pid))
    os.kill(os.getppid(), sig)  # the worker's parent: the command
    time.sleep(60)


def _gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _children() -> set[int]:
    """This process's descendants (the resource tracker, which lives on, first)."""
    from multiprocessing import resource_tracker

    import psutil

    resource_tracker.ensure_running()
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _only_error_line(err: str, line: str) -> None:
    """``err`` holds the one error line besides spmopt's own INFO lines."""
    lines = [text for text in err.splitlines() if not text.startswith("INFO spmopt:")]
    assert lines == [f"error: {line}; unfinished output removed"], err


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [
        (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ],
)
def test_a_signal_while_tasks_run_stops_the_cluster_at_once_and_quietly(
    sig: int,
    code: int,
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    before = _children()
    out, pid_file = tmp_path / "runs" / "r", tmp_path / "task_child.pid"

    def job(**kwargs: object) -> None:
        cfg = SchedulerConfig(mode="local", n_workers=1)
        with RunDir(out, "job") as run, dask_client(cfg) as client:
            run.write_text("a.txt", "half")
            task = _ctrl_c_the_command_then_sleep
            client.submit(task, sig, str(pid_file)).result()

    monkeypatch.setattr("spmopt.cli.app", job)
    assert main(["job"]) == code
    _only_error_line(capfd.readouterr().err, line)  # workers said nothing
    assert _children() == before  # the sleeping worker was killed
    assert _gone(int(pid_file.read_text()))  # and the process its task started
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_while_the_cluster_starts_stops_it_and_leaves_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import multiprocessing

    from spmopt.scale import cluster as module

    before, real = _children(), module._new_cluster
    others = set(multiprocessing.active_children())  # e.g. shared test clusters

    def ctrl_c_once_a_worker_boots() -> None:
        while not set(multiprocessing.active_children()) - others:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    def starting(cfg: SchedulerConfig) -> Any:
        threading.Thread(target=ctrl_c_once_a_worker_boots, daemon=True).start()
        return real(cfg)

    monkeypatch.setattr(module, "_new_cluster", starting)
    config = tmp_path / "price.yaml"
    payout = Path(__file__).resolve().parents[2] / "configs" / "payout"
    config.write_text(
        f"plan: {payout / 'plan_accelerator.yaml'}\n"
        f"quotas: {payout / 'quotas_small.csv'}\nmlflow: {{enabled: false}}\n"
    )
    out = tmp_path / "runs" / "p"
    argv = ["scale", "price", str(config), "--scheduler", "local:1", "--out", str(out)]
    assert main(["--quiet", *argv]) == 130
    _only_error_line(capfd.readouterr().err, "interrupted (Ctrl-C)")
    assert _children() == before
    assert not (tmp_path / "runs").exists()


def test_the_stop_mutes_dask_and_asyncio_only_while_it_runs() -> None:
    import logging

    from spmopt.scale.cluster import _DaskLogMute

    handler = logging.NullHandler()  # as Dask's own handler of its loggers
    logging.getLogger("distributed").addHandler(handler)
    asyncio_log = logging.getLogger("asyncio")
    record = logging.LogRecord(
        "distributed.nanny", logging.WARNING, "", 1, "x", (), None
    )
    mute = _DaskLogMute()
    mute.off()  # before on(): nothing to undo
    mute.on()
    mute.on()  # twice: still one filter each
    assert not handler.filter(record) and not asyncio_log.filter(record)
    mute.off()
    assert handler.filter(record) and asyncio_log.filter(record)
    assert mute not in handler.filters and mute not in asyncio_log.filters
    logging.getLogger("distributed").removeHandler(handler)


def test_a_refused_address_fails_at_once_not_after_the_timeout() -> None:
    address = f"tcp://127.0.0.1:{free_loopback_port()}"
    cfg = SchedulerConfig(mode="address", address=address, connect_timeout_seconds=600)
    with pytest.raises(ConfigError, match=r"\(connection refused\)"), dask_client(cfg):
        pass


def test_a_port_that_accepts_and_never_answers_fails_after_the_timeout(
    silent_scheduler: str,
) -> None:
    cfg = SchedulerConfig(
        mode="address", address=silent_scheduler, connect_timeout_seconds=1
    )
    expected = (
        f"scheduler.address {silent_scheduler!r} accepted the connection but gave "
        "no Dask handshake within 1 s (connect_timeout_seconds); check that a "
        "Dask scheduler listens there or give another address"
    )
    before = set(threading.enumerate())
    with pytest.raises(ConfigError) as caught, dask_client(cfg):
        pass
    assert str(caught.value) == expected
    started = set(threading.enumerate()) - before
    assert not [t for t in started if t.name == "IO loop"]  # the client was closed
