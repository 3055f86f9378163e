import logging
import os
from types import SimpleNamespace
from typing import Any

from distributed.core import Status

from spmopt.scale._quiet import HEARTBEAT_AT_CLOSE, WORKER_LOGGER, HeartbeatAtClose


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord(
        WORKER_LOGGER, logging.ERROR, __file__, 1, message, (), None
    )


def test_only_the_heartbeat_race_of_a_closing_worker_is_dropped() -> None:
    worker = SimpleNamespace(status=Status.running)
    quiet = HeartbeatAtClose(worker)
    race = _record(HEARTBEAT_AT_CLOSE + ".")
    assert quiet.filter(race)  # a running worker that cannot reach it: kept
    for status in (Status.closing, Status.closing_gracefully, Status.closed):
        worker.status = status
        assert not quiet.filter(race)
        assert quiet.filter(_record("Unexpected exception during heartbeat."))


def _has_filter() -> bool:
    filters = logging.getLogger("distributed.worker").filters
    return any(type(f).__name__ == "HeartbeatAtClose" for f in filters)


def test_local_cluster_workers_carry_the_filter(client_2: Any) -> None:
    assert set(client_2.run(_has_filter).values()) == {True}


def _stdout_is_null() -> bool:
    return os.path.samestat(os.fstat(1), os.stat(os.devnull))


def test_local_cluster_workers_print_nothing_on_the_commands_output(
    client_2: Any,
) -> None:
    # native libraries (LightGBM's network set-up) write to fd 1 directly
    assert set(client_2.run(_stdout_is_null).values()) == {True}


def _ignores_ctrl_c() -> bool:
    import signal

    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_local_cluster_workers_leave_ctrl_c_to_the_command(client_2: Any) -> None:
    # a terminal sends Ctrl-C to every process; the command stops the workers
    assert set(client_2.run(_ignores_ctrl_c).values()) == {True}
