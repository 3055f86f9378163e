"""Assemble the one-file HTML report of a run folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from spmopt._logging import logger
from spmopt.errors import ConfigError, DataError
from spmopt.report import sections as report_sections
from spmopt.report import standalone
from spmopt.report.html import missing, navigation, page, paragraph, section
from spmopt.report.locate import SectionSpec, expected_paths, find_folders, read_json
from spmopt.runs import atomic_write_bytes, sha256_file, to_json_text

Renderer = Callable[[Path, str, report_sections.Options], list[str]]

SECTIONS: tuple[tuple[SectionSpec, Renderer], ...] = (
    (
        SectionSpec("territory", "Territories", ("territory", ""), "assignments.csv"),
        report_sections.territory,
    ),
    (
        SectionSpec(
            "forecast",
            "Deal-win forecast",
            ("forecast_ibm", "forecast_maven", "forecast", ""),
            "metrics.json",
        ),
        report_sections.forecast,
    ),
    (
        SectionSpec("quota", "Quotas", ("quota", ""), "quotas.csv"),
        report_sections.quota,
    ),
    (
        SectionSpec("payout", "Plan cost", ("payout", ""), "cost_distribution.csv"),
        report_sections.payout,
    ),
    (
        SectionSpec("calc", "Payouts", ("calc", "payout", ""), "payouts.csv", True),
        report_sections.payouts,
    ),
    (
        SectionSpec(
            "compare",
            "Plan comparison",
            ("payout", "compare", "payout_compare", ""),
            "comparison.csv",
        ),
        report_sections.comparison,
    ),
    (
        SectionSpec("analytics", "KPIs and scorecards", ("analytics", ""), "kpis.csv"),
        report_sections.analytics,
    ),
    *standalone.SECTIONS,
)
"""Report sections in order: where each looks for files and how it renders."""

CHAIN = ("territory", "forecast", "quota", "payout", "compare", "analytics")
"""Sections of the demo's planning chain."""

JOB_SECTIONS: dict[str, tuple[str, ...]] = {
    "demo": CHAIN,
    "territory-solve": ("territory",),
    "territory-pareto": ("pareto",),
    "forecast.train": ("forecast",),
    "forecast.score": ("score",),
    "quota-set": ("quota",),
    "quota-capacity": ("capacity",),
    "quota-potential": ("potential",),
    "payout-simulate": ("payout",),
    "payout-calc": ("calc",),
    "payout-whatif": ("whatif",),
    "payout-compare": ("compare",),
    "analytics-kpis": ("analytics",),
    "scale-price": ("payout",),
    "scale-sweep-plans": ("sweep",),
    "scale-sweep-disruption": ("sweep",),
}
"""Sections a run of each job (``manifest.json``'s ``job``) should have.

A section listed for the run's job, or asked for by name, that finds no
files says what it looked for; any other section without files is left
out of the report.
"""

SECTION_KEYS = tuple(spec.key for spec, _ in SECTIONS)
"""Names accepted by :func:`build_report`'s ``sections``."""


def build_report(
    run_dir: str | Path,
    filename: str = "report.html",
    include_mlflow: bool = False,
    sections: Sequence[str] = (),
) -> Path:
    """Write one self-contained HTML report for the run folder ``run_dir``.

    Each section appears when its job's files are present (in a demo
    sub-folder such as ``territory/`` or at the top of a single-job run).
    A section without files says what it needs only when the run implies
    it (:data:`JOB_SECTIONS` by the manifest's job; a demo run, or a
    folder with chain jobs in sub-folders, lists the planning-chain
    sections it lacks) or when it is named in ``sections``; others are
    left out. plotly.js is embedded once, figure ids are fixed and nothing
    time-dependent is written, so the same run folder gives the same bytes.

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
    sections : sequence of str
        Section names (:data:`SECTION_KEYS`) the user wants: each one that
        has no files in the run says what it needs.

    Returns
    -------
    Path
        The written report.

    Raises
    ------
    ConfigError
        When ``sections`` names an unknown section.
    DataError
        When ``run_dir`` is missing or a file in it cannot be read.
    """
    asked = _check_asked(sections)
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise DataError(f"{run_dir} is a file; give the run folder that holds it")
    if not run_dir.is_dir():
        raise DataError(f"run folder not found: {run_dir}")
    manifest = read_json(run_dir / "manifest.json")
    job = str(manifest.get("job") or "")
    options = report_sections.Options(run_dir, include_mlflow, job)
    chain = _is_chain(run_dir, manifest)
    wanted = set(CHAIN if chain else JOB_SECTIONS.get(job, ())) | asked
    layout = _sections(options, wanted)
    overview = _overview(manifest, layout, chain)
    body, toc = layout.body, layout.toc
    nav = navigation([("overview", "Overview"), *toc])
    title = f"spmopt report: {run_dir.name}"
    text = page(title, _subtitle(manifest), nav, "\n".join([overview, *body]))
    target = run_dir / filename
    atomic_write_bytes(target, text.encode("utf-8"))
    if manifest:
        _record(run_dir / "manifest.json", manifest, filename, target)
    logger.info(
        "report: %d section(s), %d missing, in %s",
        layout.found,
        len(layout.missing),
        target,
    )
    return target


def _is_chain(run_dir: Path, manifest: dict) -> bool:
    """True for a demo run, or a folder holding chain jobs in sub-folders.

    Such a folder is meant to hold the whole planning chain, so the report
    lists the chain sections it lacks.
    """
    if manifest.get("job") == "demo":
        return True
    for spec, _ in SECTIONS:
        if spec.key in CHAIN and any(f != run_dir for f in find_folders(run_dir, spec)):
            return True
    return False


def _check_asked(names: Sequence[str]) -> set[str]:
    """The asked section names, refusing unknown ones."""
    unknown = sorted(set(names) - set(SECTION_KEYS))
    if unknown:
        raise ConfigError(
            f"report: unknown section {unknown[0]!r}; sections are: "
            f"{', '.join(SECTION_KEYS)}"
        )
    return set(names)


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
    """Sections drawn from files."""
    missing: list[str]
    """Titles of the sections the run should have (or that were asked
    for) but has no files for; each says what it looked for."""


def _sections(options: report_sections.Options, wanted: set[str]) -> Layout:
    """Sections with files, and the ``wanted`` ones without, in order."""
    run_dir = options.run_dir
    layout = Layout([], [], 0, [])
    for spec, render in SECTIONS:
        folders = find_folders(run_dir, spec)
        if not folders and spec.key not in wanted:
            continue
        if not folders:
            note = f"Not in this run: looked for {expected_paths(spec)}."
            layout.toc.append((spec.key, spec.title))
            layout.body.append(section(spec.key, spec.title, [missing(note)]))
            layout.missing.append(spec.title)
            continue
        for folder in folders:
            key, title = _names(spec, run_dir, folder)
            layout.toc.append((key, title))
            parts = _render(render, folder, key, options)
            layout.body.append(section(key, title, parts))
        layout = layout._replace(found=layout.found + 1)
    return layout


def _render(
    render: Renderer, folder: Path, key: str, options: report_sections.Options
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


def _overview(manifest: dict, layout: Layout, chain: bool) -> str:
    parts = []
    if manifest:
        parts.append(
            report_sections.key_values(
                {"job": manifest.get("job"), "seed": manifest.get("seed")}
            )
        )
        parts.append(report_sections.key_values(manifest.get("headline") or {}))
    else:
        parts.append(
            missing("No manifest.json: this folder was not written by spmopt.")
        )
    parts.append(paragraph(_coverage(manifest, layout, chain)))
    return section("overview", "Overview", parts)


COVERED = (
    "demo; territory solve and pareto; forecast train and score; quota set, "
    "capacity and potential; payout simulate, calc, compare and whatif; "
    "scale price, sweep-plans and sweep-disruption; analytics kpis"
)
"""The run types the report draws a section for."""


def _coverage(manifest: dict, layout: Layout, chain: bool) -> str:
    """The overview's line on which sections the run has."""
    job = manifest.get("job") or "unknown"
    found, lacking = layout.found, layout.missing
    if chain:
        return f"{found} of {found + len(lacking)} job sections present."
    if found == 0 and not lacking:
        return (
            f"The report has nothing to show for this run (job {job}): it "
            f"draws sections for these runs: {COVERED}."
        )
    line = f"{found} section(s) for this {job} run."
    if lacking:
        line += f" Expected but not found: {', '.join(lacking)}."
    return line


def _subtitle(manifest: dict) -> str:
    versions = manifest.get("packages") or {}
    version = versions.get("spmopt", "unknown")
    return f"spmopt {version}; job {manifest.get('job', 'unknown')}."
