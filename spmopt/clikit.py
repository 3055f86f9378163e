"""Shared plumbing for CLI commands: logging set-up and the run pattern.

Every job command follows the same steps: read and validate the config
(nothing written yet), open a :class:`~spmopt.runs.RunDir`, call the job's
runner, publish the run atomically and print where the files are.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO, TypeVar

import typer

from spmopt._logging import logger
from spmopt.config import Config, check_files, load_config
from spmopt.data import bundled_files
from spmopt.errors import ConfigError, SpmoptWarning
from spmopt.runs import SEED_MAX, RunDir, RunWriter, check_seed, default_out

C = TypeVar("C", bound=Config)

OUT_HELP = (
    "Output folder (default: runs/<timestamp>-<job>, with -2, -3 ... when that "
    "name is taken). Replaced on success."
)
SEED_HELP = (
    f"Seed (a whole number from 0 to {SEED_MAX}) for every random choice; "
    "same inputs and seed give the same files."
)


def package_version() -> str:
    """The installed spmopt version (package metadata, else the source's)."""
    try:
        return metadata.version("spmopt")
    except metadata.PackageNotFoundError:
        from spmopt import __version__

        return __version__


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Values of ``--log-level`` (any case)."""


def setup_logging(level: str = "INFO", quiet: bool = False) -> None:
    """Send the package logger to stderr at ``level`` (WARNING if quiet).

    Raises
    ------
    ConfigError
        When ``level`` is not one of :data:`LOG_LEVELS`.
    """
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(
            f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {level!r}"
        )
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers = [h for h in logger.handlers if isinstance(h, logging.NullHandler)]
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else level.upper())
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    warnings.showwarning = _spmopt_warnings_plain(warnings.showwarning)
    warn_logger = logging.getLogger("py.warnings")
    if not any(isinstance(h, logging.StreamHandler) for h in warn_logger.handlers):
        warnings_handler = _CurrentStderrHandler()
        warnings_handler.setFormatter(handler.formatter)
        warnings_handler.addFilter(_drop_dependency_notices)
        warn_logger.addHandler(warnings_handler)


def _spmopt_warnings_plain(show: Callable[..., None]) -> Callable[..., None]:
    """Log spmopt's own warnings as ``Kind: message``, others through ``show``.

    A warning raised while a config is validated would otherwise point at
    the validation library's source line, which reads like a traceback.
    """

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if file is None and issubclass(category, SpmoptWarning):
            text = f"{category.__name__}: {message}"
            logging.getLogger("py.warnings").warning("%s", text)
        else:
            show(message, category, filename, lineno, file, line)

    return show_warning


def _drop_dependency_notices(record: logging.LogRecord) -> bool:
    """Hide MLflow's advice to its own users; keep every other warning."""
    return f"site-packages{os.sep}mlflow" not in record.getMessage()


def run_job(
    job: str,
    config_cls: type[C],
    config_path: Path,
    out: Path | None,
    seed: int | None,
    runner: Callable[[C, RunWriter, int], dict[str, Any]],
) -> Path:
    """Validate ``config_path``, run ``runner`` in a fresh run folder.

    The seed, the config and the files it names are checked before any
    output is opened.

    Parameters
    ----------
    job : str
        Job name for the manifest and the default folder, e.g. ``"quota-set"``.
    config_cls : Config subclass
        Type the YAML is validated into.
    config_path : Path
        The YAML config file.
    out : Path, optional
        Output folder; default ``runs/<timestamp>-<job>``.
    seed : int, optional
        Seed; default 0.
    runner : callable
        ``runner(config, writer, seed)`` returning the headline figures.
    """
    seed = check_seed(0 if seed is None else seed)
    cfg = load_config(config_cls, config_path)
    check_files(cfg, source=str(config_path))
    target = out or default_out(job)
    run = RunDir(target, job, config=cfg, seed=seed, unique=out is None)
    with run, status_ticker(job):
        run.add_input(config_path)
        record_inputs(run, cfg)
        headline = runner(cfg, run.writer, seed)
        run.headline.update(headline)
    if run.out.name != target.name:  # the default name was taken: -2, -3 ...
        target = target.with_name(run.out.name)
    echo_headline(target, headline)
    return target


def record_inputs(run: RunDir, cfg: Config) -> None:
    """Hash every file ``cfg`` names, bundled tables included, into the manifest."""
    for path in input_files(cfg):
        run.add_input(path)
    for label, path in bundled_inputs(cfg).items():
        run.add_input(path, label)


def bundled_inputs(cfg: Config) -> dict[str, Path]:
    """Bundled files behind every ``bundled:`` reference in ``cfg``, by label."""
    return {
        label: path
        for text in _strings(cfg.model_dump(mode="json"))
        for label, path in bundled_files(text).items()
    }


def input_files(cfg: Config) -> list[Path]:
    """Existing files named anywhere in ``cfg`` (tables, plans), sorted."""
    strings = _strings(cfg.model_dump(mode="json"))
    return sorted({Path(text) for text in strings if _is_file(text)})


def _strings(value: Any) -> list[str]:
    """Every string inside nested dicts and lists, shorter than 4 KiB."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) and len(value) < 4096 else []


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_absolute() and Path(text).is_file()
    except (OSError, ValueError):
        return False


def echo_headline(target: Path, headline: dict[str, Any]) -> None:
    """Print the run folder and its headline figures to stdout.

    Figures of 10,000 or more (amounts, mostly) and every :class:`Money`
    figure are shown in full to the cent (``14,250,000.00``, not
    ``1.425e+07``); other ones with four significant digits.
    """
    typer.echo(f"wrote {target}")
    for key, value in headline.items():
        typer.echo(f"  {key}: {show_figure(value)}")


class Money(float):
    """A headline amount in currency units: always printed to the cent.

    A plain ``float`` in every other respect (JSON, arithmetic), so a job
    marks its money headlines with ``Money(value)`` and ``4700.76`` is shown
    as ``4,700.76`` rather than rounded to four significant digits.
    """


def show_figure(value: Any) -> Any:
    """A headline figure as printed (see :func:`echo_headline`)."""
    if isinstance(value, Money):
        return f"{value:,.2f}"
    if not isinstance(value, float):
        return value
    return f"{value:,.2f}" if abs(value) >= 1e4 else f"{value:,.4g}"


@contextmanager
def status_ticker(
    label: str, every: float = 5.0, stream: TextIO | None = None
) -> Iterator[None]:
    """Show ``<label>: running N s`` on a terminal while the block runs.

    The line is refreshed every ``every`` seconds and erased at the end.
    Nothing is shown when ``stream`` (default: stderr) is not a terminal
    or when the package logger is quieter than INFO (``--quiet``).
    """
    out = stream if stream is not None else sys.stderr
    if not out.isatty() or not logger.isEnabledFor(logging.INFO):
        yield
        return
    stop = threading.Event()
    start = time.perf_counter()

    def tick() -> None:
        while not stop.wait(every):
            out.write(f"\r{label}: running {time.perf_counter() - start:.0f} s")
            out.flush()

    thread = threading.Thread(target=tick, name="spmopt-status", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        out.write("\r\033[K")
        out.flush()
