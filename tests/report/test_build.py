"""The HTML report built from run folders with some or all jobs."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from spmopt.cli import main
from spmopt.report import build_report
from spmopt.runs import sha256_file

FIGURE_IDS = (
    "territory-map",
    "territory-balance",
    "territory-workload",
    "territory-pareto",
    "forecast_ibm-reliability",
    "forecast_ibm-importance",
    "forecast_maven-reliability",
    "forecast_maven-importance",
    "quota-quotas",
    "quota-attain",
    "quota-fairness",
    "payout-cost",
    "payout-curve",
    "compare-percentiles",
    "compare-curves",
    "analytics-periods",
    "analytics-scorecards",
    "analytics-stages",
    "analytics-accuracy",
)


@pytest.fixture(scope="module")
def report_text(shared_run: Path) -> str:
    """The report of a full run, built once for the read-only checks."""
    return build_report(shared_run).read_text()


def test_full_run_has_every_section_and_figure(report_text: str) -> None:
    text = report_text
    for section in ("overview", "territory", "forecast_ibm", "forecast_maven"):
        assert f"<section id='{section}'" in text
    for section in ("quota", "payout", "compare", "analytics"):
        assert f"<section id='{section}'" in text
    for div_id in FIGURE_IDS:
        assert f'id="{div_id}"' in text, div_id
    assert "Not in this run" not in text
    assert text.count('class="plotly-graph-div"') == len(FIGURE_IDS)


def test_plotly_is_embedded_once_and_nothing_is_fetched(report_text: str) -> None:
    text = report_text
    assert text.count("<script>") - text.count('class="plotly-graph-div"') == 1
    assert not re.search(r"<script[^>]+src=", text)
    assert "cdn.plot.ly" not in text.split("</script>", 1)[1]


def test_missing_jobs_are_named(tmp_path: Path, make_run: Callable) -> None:
    run = make_run(tmp_path / "run", jobs=("quota",))
    text = build_report(run).read_text()
    assert "<section id='quota'" in text
    assert "Not in this run: looked for territory/assignments.csv" in text
    assert "payout/cost_distribution.csv or cost_distribution.csv" in text
    assert "1 of 6 job sections present" in text


def test_stand_alone_job_run_reads_top_folder(
    tmp_path: Path, job_writers: dict
) -> None:
    job_writers["payout"](tmp_path / "run")
    text = build_report(tmp_path / "run").read_text()
    assert 'id="payout-cost"' in text
    assert "No manifest.json" in text


def test_report_is_byte_identical_and_drops_times(
    shared_run: Path, report_text: str
) -> None:
    again = build_report(shared_run, filename="again.html").read_text()
    assert again == report_text
    text = report_text
    assert "wall_seconds" not in text and "2026-01-01" not in text


def test_text_from_tables_is_escaped(report_text: str) -> None:
    text = report_text
    assert "<td class='text'>&lt;b&gt;long&lt;/b&gt; cycles</td>" in text
    assert "<b>long</b>" not in text
    assert "<b>region</b>" not in text


def test_payout_section_shows_percentiles(report_text: str) -> None:
    text = report_text
    section = text.split("<section id='payout'")[1].split("</section>")[0]
    for label in ('"P10"', '"P50"', '"P90"'):
        assert label in section


def test_cli_writes_report(full_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(full_run)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (full_run / "report.html").is_file()


def test_cli_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run folder not found") and "Traceback" not in err


def test_broken_json_is_one_error(
    full_run: Path, capsys: pytest.CaptureFixture
) -> None:
    (full_run / "quota" / "summary.json").write_text("{not json")
    assert main(["report", str(full_run)]) == 2
    assert "summary.json: not valid JSON" in capsys.readouterr().err
    assert not (full_run / "report.html").exists()


def test_mlflow_ids_only_on_request(shared_run: Path, report_text: str) -> None:
    assert "abc123" not in report_text
    assert "href='forecast_ibm/metrics.json'" in report_text
    report = build_report(shared_run, filename="ids.html", include_mlflow=True)
    text = report.read_text()
    assert "MLflow run abc123" in text


def test_prefixed_headline_keys_drop_volatile_values(full_run: Path) -> None:
    manifest = full_run / "manifest.json"
    manifest.write_text(
        '{"job": "demo", "headline": {"forecast_ibm.mlflow_run_id": "zz9",'
        ' "territory.wall_seconds": 1.5, "quota.target": 300.0}}'
    )
    text = build_report(full_run).read_text()
    assert "zz9" not in text and "territory.wall_seconds" not in text
    assert "quota.target" in text


def test_links_to_pages_the_jobs_wrote(full_run: Path) -> None:
    (full_run / "territory" / "map.html").write_text("<html></html>")
    text = build_report(full_run).read_text()
    assert "href='territory/map.html'" in text
    assert "payout/plots.html" not in text


def test_table_missing_a_column_gives_a_note(full_run: Path) -> None:
    path = full_run / "quota" / "quotas.csv"
    path.write_text("rep_id,potential\nr1,10\n")
    text = build_report(full_run).read_text()
    quota = text.split("<section id='quota'")[1].split("</section>")[0]
    assert "column &#x27;quota&#x27; missing in quota." in quota
    assert 'id="payout-cost"' in text


def test_territory_fairness_before_and_after(report_text: str) -> None:
    section = report_text.split("<section id='territory'")[1].split("</section>")[0]
    assert "Fairness of potential" in section
    assert "<td class='text'>after</td>" in section
    assert "quota_gini" in report_text


def test_cli_refuses_a_folder_without_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no spmopt run" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_calc_run_gets_a_payouts_section(tmp_path: Path) -> None:
    configs = Path(__file__).resolve().parents[2] / "configs" / "payout"
    out = tmp_path / "calc"
    args = [
        "payout",
        "calc",
        "--plan",
        str(configs / "plan_quarterly.yaml"),
        "--credits",
        str(configs / "credits_small.csv"),
        "--quotas",
        str(configs / "quotas_small.csv"),
        "--out",
        str(out),
    ]
    assert main(["--quiet", *args]) == 0
    text = build_report(out).read_text()
    section = text.split("<section id='calc'")[1].split("</section>")[0]
    assert "Totals per rep" in section and "Paid per rep" in section
    assert "<a href='statements/R01.txt'>R01.txt</a>" in section
    paid = pd.read_csv(out / "payouts.csv").groupby("rep_id")["paid"].sum()
    assert f"<td>{paid['R01']:,.2f}</td>" in section  # 42,850.00 for R01
    assert f"<td>{paid['R02']:,.2f}</td>" == "<td>19,492.11</td>"  # as statements
    assert "<td>19,492.11</td>" in section


def test_manifest_lists_the_rewritten_report(full_run: Path) -> None:
    report = build_report(full_run)
    report.write_text("edited by hand")
    build_report(full_run)
    files = json.loads((full_run / "manifest.json").read_text())["files"]
    assert files["report.html"] == sha256_file(report)


def test_design_without_balance_band_shows_no_band(
    tmp_path: Path, make_run: Callable
) -> None:
    run = make_run(tmp_path / "run", ("territory",))
    path = run / "territory" / "summary.json"
    summary = json.loads(path.read_text())
    path.write_text(json.dumps({**summary, "balance_tolerance": None}))
    text = build_report(run).read_text()
    section = text.split("<section id='territory'")[1].split("</section>")[0]
    assert "Band: ±" not in section and "share_within_band" not in section
    assert "No balance band in this run" in section
    assert "target ± tolerance" not in section


def _manifest(root: Path, job: str) -> Path:
    (root / "manifest.json").write_text(json.dumps({"job": job, "seed": 0}))
    return root


def _section_ids(text: str) -> list[str]:
    return re.findall(r"<section id='([^']+)'", text)


def test_scale_price_run_lists_only_its_section(
    tmp_path: Path, job_writers: dict
) -> None:
    job_writers["payout"](tmp_path / "run")
    text = build_report(_manifest(tmp_path / "run", "scale-price")).read_text()
    assert _section_ids(text) == ["overview", "payout"]
    assert "Not in this run" not in text and "of 6 job sections" not in text
    assert "1 section(s) for this scale-price run." in text
    assert 'id="payout-cost"' in text


def test_single_job_run_without_its_files_says_what_it_needs(
    tmp_path: Path, job_writers: dict
) -> None:
    job_writers["analytics"](tmp_path / "run")
    text = build_report(_manifest(tmp_path / "run", "scale-price")).read_text()
    assert _section_ids(text) == ["overview", "payout", "analytics"]
    assert "looked for payout/cost_distribution.csv or cost_distribution.csv" in text
    assert "territory/assignments.csv" not in text
    assert "Expected but not found: Plan cost." in text


def test_asked_sections_say_what_they_need(tmp_path: Path, job_writers: dict) -> None:
    job_writers["payout"](tmp_path / "run")
    run = _manifest(tmp_path / "run", "scale-price")
    text = build_report(run, sections=["quota", "payout"]).read_text()
    assert _section_ids(text) == ["overview", "quota", "payout"]
    assert "Not in this run: looked for quota/quotas.csv or quotas.csv." in text
    assert text.count("Not in this run") == 1


def test_cli_section_option(
    tmp_path: Path, job_writers: dict, capsys: pytest.CaptureFixture
) -> None:
    job_writers["payout"](tmp_path / "run")
    run = _manifest(tmp_path / "run", "scale-price")
    assert main(["report", str(run), "--section", "territory"]) == 0
    assert "looked for territory/assignments.csv" in (run / "report.html").read_text()
    (run / "report.html").unlink()
    capsys.readouterr()
    assert main(["report", str(run), "--section", "maps"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: report: unknown section 'maps'; sections are: ")
    assert "Traceback" not in err and not (run / "report.html").exists()


def test_quotas_by_period_table(report_text: str) -> None:
    section = report_text.split("<section id='quota'")[1].split("</section>")[0]
    part = section.split("Quotas by period")[1]
    head = "<th class='text'>rep_id</th><th class='text'>H1</th>"
    assert head + "<th class='text'>H2</th><th class='text'>total</th>" in part
    r2 = "<td class='text'>r2</td><td>44.01</td><td>65.99</td><td>110.00</td>"
    assert r2 in part
    total = "<td class='text'>all reps</td><td>120.01</td><td>179.99</td>"
    assert total + "<td>300.00</td>" in part
    assert "Phasing weights (every rep): H1 40.0%, H2 60.0%." in part


def test_planar_territory_run_draws_x_y_map(tmp_path: Path, make_run: Callable) -> None:
    run = make_run(tmp_path / "run", ("territory",))
    path = run / "territory" / "assignments.csv"
    frame = pd.read_csv(path).rename(columns={"lat": "x", "lon": "y"})
    frame.to_csv(path, index=False)
    text = build_report(run).read_text()
    section = text.split("<section id='territory'")[1].split("</section>")[0]
    assert 'id="territory-map"' in section
    assert '"scaleanchor":"x"' in section and "longitude" not in section


def test_notes_only_for_files_the_run_kind_writes(
    tmp_path: Path, job_writers: dict
) -> None:
    job_writers["payout"](tmp_path / "price")
    (tmp_path / "price" / "payout_curve.csv").unlink()
    text = build_report(_manifest(tmp_path / "price", "scale-price")).read_text()
    assert "No payout curve" not in text and 'id="payout-cost"' in text
    job_writers["payout"](tmp_path / "simulate")
    (tmp_path / "simulate" / "payout_curve.csv").unlink()
    run = _manifest(tmp_path / "simulate", "payout-simulate")
    assert "No payout curve in this run." in build_report(run).read_text()
    job_writers["territory"](tmp_path / "solve")
    (tmp_path / "solve" / "pareto.csv").unlink()
    text = build_report(_manifest(tmp_path / "solve", "territory-solve")).read_text()
    assert "balance-versus-disruption" not in text.lower()
    assert 'id="territory-map"' in text
