import socket
from typing import Any

import pytest

from spmopt.errors import ConfigError
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
