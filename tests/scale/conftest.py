"""Real local Dask clusters (worker processes on 127.0.0.1) shared by tests."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import cloudpickle
import pytest

from spmopt.scale import SchedulerConfig, dask_client


@pytest.fixture(autouse=True, scope="module")
def _send_test_functions_by_value(request: pytest.FixtureRequest) -> None:
    """Pickle a test module's functions by value: workers cannot import it."""
    name = request.module.__name__
    if name in sys.modules:
        cloudpickle.register_pickle_by_value(sys.modules[name])


def _cluster(n_workers: int) -> Iterator[Any]:
    cfg = SchedulerConfig(mode="local", n_workers=n_workers, memory_limit="2GiB")
    with dask_client(cfg) as client:
        yield client


@pytest.fixture(scope="session")
def _cluster_1() -> Iterator[Any]:
    yield from _cluster(1)


@pytest.fixture(scope="session")
def _cluster_2() -> Iterator[Any]:
    yield from _cluster(2)


@pytest.fixture
def client_1(_cluster_1: Any) -> Any:
    """A local cluster of one worker process, its worker connected.

    On a loaded machine a worker that missed a heartbeat reconnects; each
    test waits for it rather than seeing a smaller cluster.
    """
    _cluster_1.wait_for_workers(1, timeout=60)
    return _cluster_1


@pytest.fixture
def client_2(_cluster_2: Any) -> Any:
    """A local cluster of two worker processes, both connected."""
    _cluster_2.wait_for_workers(2, timeout=60)
    return _cluster_2


@pytest.fixture
def silent_scheduler() -> Iterator[str]:
    """A ``tcp://127.0.0.1:PORT`` that accepts connections and never answers.

    A thread accepts and holds every connection; all are closed at teardown.
    """
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with suppress(OSError):  # the server is closed at teardown
            while True:
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
