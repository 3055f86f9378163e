"""Assemble the one-file HTML report of a run folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from spmopt._logging import logger
from spmopt.errors import DataError
from spmopt.report import sections, standalone
from spmopt.report.html import missing, navigation, page, paragraph, section
from spmopt.report.locate import SectionSpec, expected_paths, find_folders, read_json
from spmopt.runs import atomic_write_bytes, sha256_file, to_json_text

Renderer = Callable[[Path, str, sections.Options], list[str]]

SECTIONS: tuple[tuple[SectionSpec, Renderer], ...] = (
    (
        SectionSpec("territory", "Territories", ("territory", ""), "assignments.csv"),
        sections.territory,
    ),
    (
        SectionSpec(
            "forecast",
            "Deal-win forecast",
            ("forecast_ibm", "forecast_maven", "forecast", ""),
            "metrics.json",
        ),
        sections.forecast,
    ),
    (SectionSpec("quota", "Quotas", ("quota", ""), "quotas.csv"), sections.quota),
    (
        SectionSpec("payout", "Plan cost", ("payout", ""), "cost_distribution.csv"),
        sections.payout,
    ),
    (
        SectionSpec("calc", "Payouts", ("calc", "payout", ""), "payouts.csv", True),
        sections.payouts,
    ),
    (
        SectionSpec(
            "compare",
            "Plan comparison",
            ("payout", "compare", "payout_compare", ""),
            "comparison.csv",
        ),
        sections.comparison,
    ),
    (
        SectionSpec("analytics", "KPIs and scorecards", ("analytics", ""), "kpis.csv"),
        sections.analytics,
    ),
    *standalone.SECTIONS,
)
"""Report sections in order: where each looks for files and how it renders."""


def build_report(
    run_dir: str | Path, filename: str = "report.html", include_mlflow: bool = False
) -> Path:
    """Write one self-contained HTML report for the run folder ``run_dir``.

    Each section appears when its job's files are present (in a demo
    sub-folder such as ``territory/`` or at the top of a single-job run)
    and otherwise says what is missing. plotly.js is embedded once, figure
    ids are fixed and nothing time-dependent is written, so the same run
    folder gives the same bytes.

    Parameters
    ----------
    run_dir : path
        A run folder written by a spmopt command.
    filename : str
        Name of the report inside ``run_dir``.
    include_mlflow : bool
        Show the forecasters' MLflow run ids (and a link to the run when
        the tracking URI is a server). Off by default because the ids
        change between otherwise identical runs; the report then links to
        the ``metrics.json`` that holds them.

    Returns
    -------
    Path
        The written report.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise DataError(f"{run_dir} is a file; give the run folder that holds it")
    if not run_dir.is_dir():
        raise DataError(f"run folder not found: {run_dir}")
    manifest = read_json(run_dir / "manifest.json")
    options = sections.Options(run_dir, include_mlflow)
    body, toc, found, expected, alone = _sections(options)
    overview = _overview(manifest, found, expected, alone)
    nav = navigation([("overview", "Overview"), *toc])
    title = f"spmopt report: {run_dir.name}"
    text = page(title, _subtitle(manifest), nav, "\n".join([overview, *body]))
    target = run_dir / filename
    atomic_write_bytes(target, text.encode("utf-8"))
    if manifest:
        _record(run_dir / "manifest.json", manifest, filename, target)
    logger.info("report: %d of %d sections in %s", found, expected, target)
    return target


def _record(path: Path, manifest: dict, filename: str, target: Path) -> None:
    """Add the report's hash to the run's manifest so it lists every file."""
    files = dict(manifest.get("files") or {})
    files[filename] = sha256_file(target)
    updated = {**manifest, "files": dict(sorted(files.items()))}
    atomic_write_bytes(path, to_json_text(updated).encode())


class Layout(NamedTuple):
    """The report's sections, table of contents and what was found."""

    body: list[str]
    toc: list[tuple[str, str]]
    found: int
    expected: int
    alone: bool
    """Only stand-alone sections were found (a ``territory pareto`` run,
    say): the planning-chain sections are left out, not listed as missing."""


def _sections(options: sections.Options) -> Layout:
    """Section bodies, table of contents, sections found and expected."""
    run_dir = options.run_dir
    present = [(spec, r, find_folders(run_dir, spec)) for spec, r in SECTIONS]
    shown = [spec.optional for spec, _, folders in present if folders]
    alone = bool(shown) and all(shown)
    body, toc, found, expected = [], [], 0, 0
    for spec, render, folders in present:
        if not folders and (spec.optional or alone):
            continue
        found += bool(folders)
        expected += 1
        targets: list[Path | None] = list(folders) or [None]
        for folder in targets:
            key, title = _names(spec, run_dir, folder)
            toc.append((key, title))
            if folder is None:
                note = f"Not in this run: looked for {expected_paths(spec)}."
                body.append(section(key, title, [missing(note)]))
            else:
                body.append(section(key, title, _render(render, folder, key, options)))
    return Layout(body, toc, found, expected, alone)


def _render(
    render: Renderer, folder: Path, key: str, options: sections.Options
) -> list[str]:
    """Render one section; a table missing a needed column gives a note."""
    try:
        return render(folder, key, options)
    except KeyError as exc:
        where = folder.relative_to(options.run_dir).as_posix() or "."
        logger.warning("report: section %s not drawn, missing column %s", key, exc)
        return [
            missing(f"Could not draw this section: column {exc} missing in {where}.")
        ]


def _names(spec: SectionSpec, run_dir: Path, folder: Path | None) -> tuple[str, str]:
    if folder is None or folder == run_dir:
        return spec.key, spec.title
    sub = folder.relative_to(run_dir).as_posix()
    if sub == spec.key:
        return spec.key, spec.title
    key = sub if sub.startswith(spec.key) else f"{spec.key}-{sub}"
    return key.replace("/", "-"), f"{spec.title} ({sub})"


def _overview(manifest: dict, found: int, expected: int, alone: bool) -> str:
    parts = []
    if manifest:
        parts.append(
            sections.key_values(
                {"job": manifest.get("job"), "seed": manifest.get("seed")}
            )
        )
        parts.append(sections.key_values(manifest.get("headline") or {}))
    else:
        parts.append(
            missing("No manifest.json: this folder was not written by spmopt.")
        )
    parts.append(paragraph(_coverage(manifest, found, expected, alone)))
    return section("overview", "Overview", parts)


COVERED = (
    "demo; territory solve and pareto; forecast train and score; quota set, "
    "capacity and potential; payout simulate, calc, compare and whatif; "
    "scale price, sweep-plans and sweep-disruption; analytics kpis"
)
"""The run types the report draws a section for."""


def _coverage(manifest: dict, found: int, expected: int, alone: bool) -> str:
    """The overview's line on which sections the run has."""
    job = manifest.get("job") or "unknown"
    if found == 0:
        return (
            f"The report has nothing to show for this run (job {job}): it "
            f"draws sections for these runs: {COVERED}."
        )
    if alone:
        return (
            f"{found} section(s) for this {job} run. The planning-chain "
            "sections (territories, forecast, quotas, plan cost, comparison, "
            "KPIs) belong to other run types."
        )
    return f"{found} of {expected} job sections present."


def _subtitle(manifest: dict) -> str:
    versions = manifest.get("packages") or {}
    version = versions.get("spmopt", "unknown")
    return f"spmopt {version}; job {manifest.get('job', 'unknown')}."
