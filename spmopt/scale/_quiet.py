"""Keep a local cluster quiet without hiding real worker errors.

A worker whose heartbeat to the scheduler is in flight when the worker is
told to close has its connection closed under that heartbeat by its own
shutdown; ``distributed`` then logs "Failed to communicate with scheduler
during heartbeat" with a traceback, although nothing failed. spmopt cannot
time the heartbeat, so :class:`QuietShutdown` drops exactly that message,
from the ``distributed.worker`` logger only, and only once the worker is
closing. Any other record, and the same record from a running worker,
is kept.

The workers of a local cluster also inherit the command's standard
output, which carries its results; native libraries print their chatter
there (LightGBM's network set-up, "Trying to bind port ..."), before any
Python log setting applies. :class:`MuteStdout` points each worker's file
descriptor 1 at the null device; worker logs go to standard error as
before.

Ctrl-C in a terminal reaches every process of the command, workers too,
which would each log their cancelled tasks while the command stops them.
:class:`IgnoreCtrlC` has each worker (and the processes it starts later)
ignore SIGINT; the command stops its cluster itself.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from distributed.core import Status
from distributed.diagnostics.plugin import WorkerPlugin

HEARTBEAT_AT_CLOSE = "Failed to communicate with scheduler during heartbeat"
CLOSING = frozenset({Status.closing, Status.closing_gracefully, Status.closed})
WORKER_LOGGER = "distributed.worker"


class HeartbeatAtClose(logging.Filter):
    """Drop the failed-heartbeat record of ``worker`` once it is closing.

    Parameters
    ----------
    worker : distributed.Worker
        Any object with a ``status`` (a :class:`distributed.core.Status`).
    """

    def __init__(self, worker: Any) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for the heartbeat failure of a closing worker."""
        closing = getattr(self.worker, "status", None) in CLOSING
        return not (closing and record.getMessage().startswith(HEARTBEAT_AT_CLOSE))


class QuietShutdown(WorkerPlugin):
    """Worker plugin installing :class:`HeartbeatAtClose` on each worker."""

    name = "spmopt-quiet-shutdown"

    def setup(self, worker: Any) -> None:
        """Attach the filter to the ``distributed.worker`` logger."""
        logging.getLogger(WORKER_LOGGER).addFilter(HeartbeatAtClose(worker))


class MuteStdout(WorkerPlugin):
    """Worker plugin sending the worker process's standard output to null."""

    name = "spmopt-mute-stdout"

    def setup(self, worker: Any) -> None:
        """Point file descriptor 1 (and ``sys.stdout``) at the null device."""
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)


class IgnoreCtrlC(WorkerPlugin):
    """Worker plugin making the worker process ignore SIGINT (Ctrl-C)."""

    name = "spmopt-ignore-ctrl-c"

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT (set from the worker's main thread only)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
