"""Run directories: one folder of outputs per command, written atomically.

A :class:`RunDir` collects files in a hidden temporary folder next to the
requested output. Only when the job succeeds is ``manifest.json`` written
and the folder renamed into place, so a failed run never leaves a
half-written output and never destroys the previous one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from spmopt._logging import logger
from spmopt.errors import ConfigError, SpmoptWarning

if TYPE_CHECKING:
    import pandas as pd

TRACKED_PACKAGES = (
    "spmopt",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "ortools",
    "pulp",
    "mlflow",
    "pydantic",
)
_FORMULA_PREFIXES = ("=", "+", "-", "@")
SEED_MAX = 2**31 - 1
"""Largest seed: every solver and model takes it (CP-SAT's is a 32-bit int)."""


def check_seed(seed: int) -> int:
    """Return ``seed`` when it is a whole number from 0 to :data:`SEED_MAX`.

    Raises
    ------
    ConfigError
        Naming the value and the allowed range otherwise.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(
            f"--seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}"
        )
    return seed


_INTERRUPTS = [0]
"""Interrupts (Ctrl-C) this process has received; the CLI counts them."""


def note_interrupt() -> None:
    """Count an interrupt, so no run folder open at the time is published.

    Some libraries catch ``KeyboardInterrupt`` while they work; counting
    the signal itself keeps an interrupted run from publishing anyway.
    """
    _INTERRUPTS[0] += 1


def interrupts() -> int:
    """How many interrupts this process has counted so far."""
    return _INTERRUPTS[0]


_ON_SIGNAL: list[list[Callable[[], None]]] = [[]]
"""Callbacks of the open :func:`on_signal` blocks, one list per scope."""


@contextmanager
def on_signal(callback: Callable[[], None]) -> Iterator[None]:
    """Have the command's Ctrl-C or SIGTERM call ``callback`` first, at once.

    For work that must stop before the command unwinds, e.g. the worker
    processes of a local cluster, which would otherwise go on (and log)
    while the job's own clean-up runs. The callback runs in the signal
    handler: it must be quick and must not raise. Only the callbacks of
    the innermost :func:`signal_scope` (one command) are called.
    """
    scope = _ON_SIGNAL[-1]
    scope.append(callback)
    try:
        yield
    finally:
        scope.remove(callback)


@contextmanager
def signal_scope() -> Iterator[None]:
    """A scope (one command) whose signals call only its own callbacks.

    A cluster opened before the command (say, by a notebook or a test
    session) is not stopped by the command's Ctrl-C.
    """
    _ON_SIGNAL.append([])
    try:
        yield
    finally:
        _ON_SIGNAL.pop()


def run_signal_callbacks() -> None:
    """Call the current scope's :func:`on_signal` callbacks, newest first.

    A callback that fails is passed over: the signal must still end the
    command with its one line.
    """
    for callback in reversed(list(_ON_SIGNAL[-1])):
        with suppress(Exception):
            callback()


_PUBLISHED: list[Path] = []
"""Run folders this process has published, oldest first."""

_OPEN: dict[Path, list[Path]] = {}
"""Temporary folders of open runs, with the parent folders each created."""


def published() -> list[Path]:
    """Run folders this process has published so far, oldest first."""
    return list(_PUBLISHED)


_HELD: list[int] = []
_DEFERRING = [0]
_HOOKS: list[Callable[[], None] | None] = [None]
_SECOND_RAISES = [False]


@contextmanager
def deferred_signals(
    second_raises: bool = False, on_signal: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the block runs; deliver them after.

    Clean-up and publishing must not stop half-way: a signal arriving in
    the block is counted (Ctrl-C via :func:`note_interrupt`) and re-raised
    as ``KeyboardInterrupt`` (or ``SystemExit``) once the outermost such
    block is done, also when the block fails (the signal then replaces its
    error). ``on_signal`` is called at the first signal, e.g. to cut short
    a step that would otherwise run on; with ``second_raises`` (for a step
    that may hang, such as starting a cluster) a second signal is raised at
    once. Outside the main thread, where handlers cannot change, this does
    nothing.
    """
    if _DEFERRING[0] or threading.current_thread() is not threading.main_thread():
        yield
        return
    _DEFERRING[0], _SECOND_RAISES[0], _HOOKS[0] = 1, second_raises, on_signal
    try:
        previous = {s: signal.signal(s, _hold) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        _DEFERRING[0], _SECOND_RAISES[0], _HOOKS[0] = 0, False, None
        held, _HELD[:] = list(_HELD), []
        _deliver(held)


def _hold(signum: int, frame: object) -> None:
    """Signal handler of :func:`deferred_signals`: remember, do not raise.

    The first signal calls the block's ``on_signal``; the second signal of
    a ``second_raises`` block is raised here.
    """
    if signum == signal.SIGINT:
        note_interrupt()
    _HELD.append(signum)
    hook, _HOOKS[0] = _HOOKS[0], None
    if hook is not None:
        hook()
    if _SECOND_RAISES[0] and len(_HELD) > 1:
        held, _HELD[:] = list(_HELD), []
        _deliver(held)


def _deliver(held: list[int]) -> None:
    """Raise the first signal ``deferred_signals`` held back, if any."""
    if not held:
        return
    if signal.SIGTERM in held:
        raise SystemExit(128 + signal.SIGTERM)
    raise KeyboardInterrupt


def discard_open_runs() -> None:
    """Remove the temporary folders of runs still open (after an interrupt).

    The CLI calls this last, so even an interrupt that landed inside a
    run's own clean-up leaves no ``.partial-`` folder behind.
    """
    with deferred_signals():
        for tmp in list(_OPEN):
            _discard(tmp, _OPEN.pop(tmp))


def _discard(tmp: Path, made_parents: list[Path]) -> None:
    """Delete ``tmp`` and then the parent folders made for it, if empty."""
    shutil.rmtree(tmp, ignore_errors=True)
    _remove_empty(made_parents)


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        if not folder.exists():
            continue
        try:
            folder.rmdir()
        except OSError:
            break


def _remove_stale(out: Path) -> None:
    """Delete leftovers of earlier runs to ``out`` whose process has ended."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.old-*"):
        for path in out.parent.glob(pattern):
            if path.is_dir() and not _pid_alive(path.name.rsplit("-", 2)[-2]):
                shutil.rmtree(path, ignore_errors=True)


def _pid_alive(text: str) -> bool:
    """Whether ``text`` is the id of a running process (this one included)."""
    if not text.isdigit() or int(text) <= 0:
        return False  # an older name without a process id
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def default_out(job: str, root: str | Path = "runs") -> Path:
    """Return ``runs/<timestamp>-<job>`` (local time, second resolution).

    Two runs started in the same second get the same name: open the run
    with ``RunDir(..., unique=True)``, which publishes to the first free
    name of ``NAME``, ``NAME-2``, ``NAME-3`` ... instead of replacing.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{job}"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def neutralise_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with ``= + - @`` with a quote.

    Spreadsheet programs execute such cells as formulas; the quote makes
    them plain text. Numeric columns, Decimal columns included, are left
    alone.
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if _holds_decimals(series):
            continue
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype("string")
            risky = text.str.startswith(_FORMULA_PREFIXES, na=False)
            if risky.any():
                out[column] = text.where(~risky, "'" + text).astype(object)
    return out


def format_money(
    frame: pd.DataFrame,
    columns: Iterable[str],
    decimals: int = 2,
    max_decimals: int | None = None,
) -> pd.DataFrame:
    """``frame`` with the money ``columns`` as text with ``decimals`` places.

    ``1696000`` is written ``1696000.00`` and ``1234567.8900000001``
    ``1234567.89``; a missing or infinite amount is a blank cell. Amounts
    should already be rounded to ``decimals`` places by the job (so that
    totals add up as printed); this only fixes how they are written. With
    ``max_decimals``, exact amounts keep up to that many places (trailing
    zeros beyond ``decimals`` dropped): ``4800`` is ``4800.00`` and
    ``4210.52632`` stays ``4210.52632``; with ``decimals`` 0 no decimal
    point is left (``4800``). A column holding :class:`~decimal.Decimal`
    values is written exactly (no float rounding, even above 2**53), e.g.
    ``12345678901234.567``.
    """
    out = frame.copy()
    for column in columns:
        if _holds_decimals(out[column]):
            cells = [_decimal_cell(v, decimals, max_decimals) for v in out[column]]
        else:
            values = out[column].astype(float)
            cells = [_money_text(v, decimals, max_decimals) for v in values]
        out[column] = cells
    return out


def _holds_decimals(series: pd.Series) -> bool:
    """Whether a column holds :class:`~decimal.Decimal` amounts (object dtype)."""
    return series.dtype == object and any(isinstance(v, Decimal) for v in series)


def _money_text(value: float, decimals: int, max_decimals: int | None) -> str:
    if not math.isfinite(value):
        return ""
    if max_decimals is None or max_decimals <= decimals:
        return f"{value + 0.0:.{decimals}f}"
    whole, _, frac = f"{value + 0.0:.{max_decimals}f}".partition(".")
    frac = frac.rstrip("0").ljust(decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def _decimal_cell(value: Any, decimals: int, max_decimals: int | None) -> str:
    """A money cell of a Decimal column, written exactly."""
    if isinstance(value, Decimal):
        return decimal_text(value, decimals, max_decimals)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    return _money_text(number, decimals, max_decimals)


def decimal_text(value: Decimal, decimals: int, max_decimals: int | None = None) -> str:
    """``value`` written exactly with ``decimals`` to ``max_decimals`` places.

    As :func:`format_money` writes a Decimal: trailing zeros beyond
    ``decimals`` dropped, no decimal point when none is left (``4800`` with
    0 decimals, ``4800.00`` with 2), ``4210.526315`` with 2 to 5 places
    ``4210.52632`` (half even); a non-finite value is blank.
    """
    if not value.is_finite():
        return ""
    places = max(decimals, max_decimals or 0)
    with localcontext() as ctx:
        ctx.prec = 60
        fine = value.quantize(Decimal(1).scaleb(-places)) + 0
    whole, _, frac = f"{fine:f}".partition(".")
    frac = frac.rstrip("0").ljust(decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def _json_default(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _clean_floats(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {str(k): _clean_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_floats(v) for v in value]
    return value


def to_json_text(obj: Any) -> str:
    """Deterministic JSON: sorted keys, NaN/inf as null, trailing newline."""
    plain = json.loads(json.dumps(obj, default=_json_default))
    return json.dumps(_clean_floats(plain), indent=2, sort_keys=True) + "\n"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def check_out(out: Path, replace: bool = True) -> list[Path]:
    """Refuse an output folder that a run must not replace.

    A run replaces its ``--out`` folder as a whole, so the folder must be
    absent, empty, or a folder an earlier spmopt run wrote (it holds a
    ``manifest.json``). With ``replace`` False (a run that never replaces,
    see :class:`RunDir`) only its parent is checked. Missing parent
    folders are created and returned, deepest first, so a failed run can
    remove them again.
    """
    if replace:
        _check_replaceable(out)
    blocking = [p for p in out.parents if p.exists() and not p.is_dir()]
    if blocking:
        raise ConfigError(f"--out {out}: {blocking[-1]} is a file, not a folder")
    missing = [p for p in out.parents if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(missing)
        raise ConfigError(
            f"--out {out}: cannot create its parent folder ({_reason(exc)})"
        ) from None
    return missing


def _check_replaceable(out: Path) -> None:
    """Refuse ``out`` unless it is absent, empty or an earlier run's folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder")
    if Path.cwd().is_relative_to(out):
        raise ConfigError(
            f"--out {out} is or holds the current folder; choose a sub-folder"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ConfigError(
            f"--out {out} holds files that spmopt did not write (no manifest.json); "
            "choose a new or empty folder, or an earlier run's folder"
        )
    if out.is_dir() and (out / "manifest.json").is_file():
        _refuse_added_files(out)


def _reason(exc: OSError) -> str:
    """``exc`` in words, without Python's error number and path."""
    return (exc.strerror or str(exc)).lower()


def _temporary_folder(out: Path, made: list[Path]) -> Path:
    """A new hidden folder next to ``out`` for a run in progress."""
    prefix = f".{out.name}.partial-{os.getpid()}-"
    try:
        return Path(tempfile.mkdtemp(dir=out.parent, prefix=prefix))
    except OSError as exc:
        _remove_empty(made)
        raise ConfigError(
            f"--out {out}: cannot write in {out.parent} ({_reason(exc)})"
        ) from None


def _refuse_added_files(out: Path) -> None:
    """Refuse an earlier run's folder holding files its manifest does not list."""
    files = _manifest(out).get("files")
    if not isinstance(files, dict):
        return  # a manifest without a file list: nothing to compare with
    known = set(files) | {"manifest.json"}
    added = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    added = [name for name in added if name not in known]
    if added:
        shown = ", ".join(added[:3]) + (" ..." if len(added) > 3 else "")
        raise ConfigError(
            f"--out {out} holds {len(added)} file(s) the earlier run did not write "
            f"({shown}); replacing the folder would delete them. Move them, or "
            "choose another --out"
        )


class RunWriter:
    """Writes files under one folder of a run (optionally a sub-folder).

    Job runners take a ``RunWriter`` so the same code writes a stand-alone
    run or one section of the demo run (``run.view("territory")``).
    """

    def __init__(self, root: Path, prefix: str = "") -> None:
        self._root = root
        self.prefix = prefix.strip("/")
        self.headline: dict[str, Any] = {}

    def file(self, name: str) -> Path:
        """Path of ``name`` inside this writer's folder (parents created)."""
        target = self._root / self.prefix / name if self.prefix else self._root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def view(self, prefix: str) -> RunWriter:
        """A writer for the sub-folder ``prefix``."""
        joined = f"{self.prefix}/{prefix}" if self.prefix else prefix
        return RunWriter(self._root, joined)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write raw bytes atomically; returns the path."""
        target = self.file(name)
        atomic_write_bytes(target, data)
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write UTF-8 text atomically."""
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj: Any) -> Path:
        """Write deterministic JSON (sorted keys, NaN as null)."""
        return self.write_text(name, to_json_text(obj))

    def write_csv(
        self,
        name: str,
        frame: pd.DataFrame,
        money: Iterable[str] = (),
        decimals: int = 2,
        max_decimals: int | None = None,
    ) -> Path:
        """Write a spreadsheet-safe CSV without the index.

        Columns named in ``money`` are written with ``decimals`` places, or
        up to ``max_decimals`` for exact amounts (see :func:`format_money`).
        """
        safe = format_money(
            neutralise_for_spreadsheet(frame), money, decimals, max_decimals
        )
        return self.write_text(name, safe.to_csv(index=False, lineterminator="\n"))


class RunDir:
    """Collects a job's outputs and publishes them atomically.

    Parameters
    ----------
    out : path
        Final output folder. Replaced as a whole when the job succeeds.
    job : str
        Job name recorded in the manifest, e.g. ``"territory.solve"``.
    config : pydantic model or dict, optional
        The validated configuration, recorded in the manifest.
    seed : int, optional
        The seed of a stochastic job, from 0 to :data:`SEED_MAX`.
    unique : bool
        Never replace: publish to ``out``, or when that name is taken (two
        runs of a job started in the same second share a default name) to
        the first free one of ``out-2``, ``out-3`` ...; each name is claimed
        atomically. :attr:`out` is the folder actually written.

    Examples
    --------
    >>> with RunDir(out, "demo", cfg, seed=0) as run:   # doctest: +SKIP
    ...     run.write_csv("table.csv", frame)
    ...     run.headline["rows"] = len(frame)
    """

    def __init__(
        self,
        out: str | Path,
        job: str,
        config: Any = None,
        seed: int | None = None,
        unique: bool = False,
    ) -> None:
        self.out = self._asked = Path(out).resolve()
        self.job = job
        self.config = config
        self.seed = None if seed is None else check_seed(seed)
        self.unique = unique
        self.inputs: dict[str, str] = {}
        self.headline: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self._tmp: Path | None = None
        self._writer: RunWriter | None = None
        self._started = 0.0
        self._started_at = ""

    @property
    def path(self) -> Path:
        """The folder being written (temporary until :meth:`commit`)."""
        if self._tmp is None:
            raise RuntimeError("RunDir is not open; use it as a context manager")
        return self._tmp

    def __enter__(self) -> RunDir:
        with deferred_signals():
            made = check_out(self.out, replace=not self.unique)
            self._tmp = _temporary_folder(self.out, made)
            _OPEN[self._tmp] = made
        self._writer = RunWriter(self._tmp)
        self.headline = self._writer.headline
        self._started = time.perf_counter()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._interrupts = interrupts()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with deferred_signals():
            if exc_type is None and interrupts() == self._interrupts:
                try:
                    self.commit()
                    return
                except BaseException:
                    self._abandon()
                    raise
            self._abandon()
        if exc_type is None:
            raise KeyboardInterrupt(f"{self.job}: interrupted; nothing was published")

    def _abandon(self) -> None:
        """Delete the unpublished folder and the parents made for it."""
        if self._tmp is not None:
            _discard(self._tmp, _OPEN.pop(self._tmp, []))
            self._tmp = None

    @property
    def writer(self) -> RunWriter:
        """Writer for the run's top folder."""
        if self._writer is None:
            raise RuntimeError("RunDir is not open; use it as a context manager")
        return self._writer

    def view(self, prefix: str) -> RunWriter:
        """Writer for a sub-folder of the run."""
        return self.writer.view(prefix)

    def add_input(self, path: str | Path, label: str | None = None) -> None:
        """Record an input file's SHA-256 in the manifest, under ``label``.

        The label defaults to the path itself.
        """
        self.inputs[label or str(path)] = sha256_file(path)

    def write_csv(
        self,
        name: str,
        frame: pd.DataFrame,
        money: Iterable[str] = (),
        decimals: int = 2,
        max_decimals: int | None = None,
    ) -> Path:
        """Write a spreadsheet-safe CSV in the run's top folder."""
        return self.writer.write_csv(name, frame, money, decimals, max_decimals)

    def write_json(self, name: str, obj: Any) -> Path:
        """Write deterministic JSON in the run's top folder."""
        return self.writer.write_json(name, obj)

    def write_text(self, name: str, text: str) -> Path:
        """Write UTF-8 text in the run's top folder."""
        return self.writer.write_text(name, text)

    def commit(self) -> Path:
        """Write the manifest and move the folder into place."""
        tmp = self.path
        files = {
            str(p.relative_to(tmp)): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "job": self.job,
            "config": self.config,
            "seed": self.seed,
            "inputs": self.inputs,
            "files": files,
            "headline": self.headline,
            "packages": package_versions(),
            "started_at": self._started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - self._started, 3),
            **self.extra,
        }
        atomic_write_bytes(tmp / "manifest.json", to_json_text(manifest).encode())
        os.chmod(tmp, 0o777 & ~_umask())
        earlier = None if self.unique else _earlier_job(self.out)
        with deferred_signals():
            self._publish(tmp)
            _OPEN.pop(tmp, None)
            self._tmp = None
            _PUBLISHED.append(self.out)
            _remove_stale(self._asked)
        if earlier is not None and earlier != self.job:
            logger.warning(
                "%s: replaced an earlier %s run in %s", self.job, earlier, self.out
            )
        logger.info("%s: wrote %d files to %s", self.job, len(files) + 1, self.out)
        return self.out

    def _publish(self, tmp: Path) -> None:
        """Move the finished folder ``tmp`` into place (sets :attr:`out`)."""
        self.out = _claim(self.out, tmp) if self.unique else _replace(self.out, tmp)


def _manifest(out: Path) -> dict[str, Any]:
    """The manifest of the run in ``out``; empty when missing or unreadable."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _earlier_job(out: Path) -> str | None:
    """Job named in the manifest of an earlier run in ``out``, if readable."""
    job = _manifest(out).get("job")
    return job if isinstance(job, str) else None


def _claim(out: Path, tmp: Path) -> Path:
    """Move ``tmp`` to the first free name of ``out``, ``out-2``, ``out-3`` ...

    A name is claimed by creating it (which fails when another run has),
    then the finished folder is renamed onto that empty claimed folder.
    """
    for n in range(1, 10_000):
        name = out if n == 1 else out.with_name(f"{out.name}-{n}")
        try:
            name.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _not_published(
                out, f"cannot create {name} ({_reason(exc)})"
            ) from None
        try:
            os.replace(tmp, name)
        except OSError as exc:
            name.rmdir()
            raise _not_published(
                name, f"cannot rename into it ({_reason(exc)})"
            ) from None
        return name
    raise _not_published(out, "every name up to -9999 is taken")


def _replace(out: Path, tmp: Path) -> Path:
    """Move ``tmp`` to ``out``; an earlier run there is replaced, or kept intact.

    The earlier folder is first renamed aside; if that fails, nothing has
    changed. If the new folder cannot take its place, the earlier one is
    put back. Its aside copy is then deleted; a file that cannot be is
    named in a :class:`~spmopt.errors.SpmoptWarning`.
    """
    old = out.with_name(f".{out.name}.old-{os.getpid()}-0") if out.exists() else None
    if old is not None:
        try:
            os.replace(out, old)
        except OSError as exc:
            raise _not_replaced(out, exc) from None
    try:
        os.replace(tmp, out)
    except OSError as exc:
        if old is not None:
            os.replace(old, out)
        raise _not_replaced(out, exc) from None
    if old is not None:
        _delete_aside(old)
    return out


def _not_replaced(out: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"--out {out}: cannot replace the earlier run in this folder "
        f"({_reason(exc)}); that run is unchanged and this run's output was "
        f"not kept. Make {out} and {out.parent} writable by you (and not "
        "immutable), or run again with another --out"
    )


def _not_published(out: Path, why: str) -> ConfigError:
    return ConfigError(
        f"--out {out}: {why}; this run's output was not kept. Choose another --out"
    )


def _delete_aside(old: Path) -> None:
    """Delete an earlier run's aside copy; warn naming what could not be."""
    failed: list[str] = []

    def note(func: Any, path: str, exc_info: Any) -> None:
        if getattr(exc_info[1], "errno", None) != errno.ENOTEMPTY:  # files only
            failed.append(f"{path} ({_reason(exc_info[1])})")

    shutil.rmtree(old, onerror=note)
    if failed or old.exists():
        shown = "; ".join(failed[:3]) + (" ..." if len(failed) > 3 else "")
        warnings.warn(
            SpmoptWarning(
                f"the earlier run's copy {old} could not be fully deleted "
                f"({shown or 'folder still present'}); delete it by hand"
            ),
            stacklevel=2,
        )
