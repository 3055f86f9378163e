"""Large balanced designs: banded locate-allocate against the CP-SAT path.

Solves the design of a territory config (default:
``configs/territory/counties_design_banded.yaml``, all 3,143 US counties
into 40 territories with potential within ±5%) with every solver below, each
in its own child process (so each peak RSS is its own), and prints one JSON
line per solver with status, objective, bound, gap, seconds, work, peak RSS,
balance (smallest and largest territory potential over the target) and
whether the time-limit warning was raised:

- ``band_locate_allocate``: :class:`spmopt.territory.design.PMedianModel`
  as the config poses it; above 200,000 finite pairs with a band it takes
  the banded locate-allocate path (``design.k_nearest`` counts open
  centres there);
- ``cpsat_nearest``: the earlier path on the same model
  (``solve(large=False)``): Lagrangian fixing, then CP-SAT, with each unit
  limited to its ``design.k_nearest`` nearest candidates (the job refused
  such a design before solving: its reach check names the shortfall);
- ``cpsat_all``: the earlier path with ``design.k_nearest`` unset (every
  candidate allowed; CP-SAT then sees each unit's 10 nearest centres).

Usage: ``python experiments/bench_territory_design_banded.py [--config C]
[--solvers a,b] [--deterministic-time S] [--limit S]``. Without
``--deterministic-time`` / ``--limit`` the config's solver settings apply.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from spmopt.config import load_config
from spmopt.errors import SpmoptError, TimeLimitWarning
from spmopt.territory import TerritoryConfig, build_problem
from spmopt.territory.designjob import _check_reach, design_model
from spmopt.territory.job import settings_from

CONFIG = (
    Path(__file__).resolve().parents[1]
    / "configs"
    / "territory"
    / "counties_design_banded.yaml"
)
SOLVERS = ("band_locate_allocate", "cpsat_nearest", "cpsat_all")


def _figure(value: float) -> float | None:
    """``value`` rounded, or None when it is not a finite number (JSON null)."""
    return round(float(value), 6) if math.isfinite(value) else None


def solve_one(args: argparse.Namespace) -> dict:
    """Solve the config's design with ``args.solver``; the JSON record."""
    cfg = load_config(TerritoryConfig, Path(args.config))
    if args.solver == "cpsat_all":
        assert cfg.design is not None
        design = cfg.design.model_copy(update={"k_nearest": None})
        cfg = cfg.model_copy(update={"design": design})
    problem = build_problem(cfg)
    model = design_model(problem, cfg)
    settings = settings_from(cfg, args.seed)
    if args.deterministic_time is not None:
        settings = replace(settings, deterministic_time=args.deterministic_time)
    if args.limit is not None:
        settings = replace(settings, time_limit_seconds=args.limit)
    record = {"solver": args.solver, "units": problem.n_units, "p": model.p}
    record["refused_by_reach_check"] = _reach_message(model, cfg, args.solver)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.solve(settings, large=args.solver == "band_locate_allocate")
    record.update(_result_record(result, model, time.perf_counter() - start))
    record["time_limit_warning"] = any(
        issubclass(w.category, TimeLimitWarning) for w in caught
    )
    record["other_warnings"] = [
        str(w.message)[:160]
        for w in caught
        if not issubclass(w.category, TimeLimitWarning)
    ]
    return record


def _reach_message(model, cfg: TerritoryConfig, solver: str) -> str | None:
    """The job's refusal before solving, or None when it would solve.

    The CP-SAT solvers get the earlier check, over each unit's
    ``design.k_nearest`` nearest candidates.
    """
    if solver != "band_locate_allocate":
        reach = np.sort(model.allowed.sum(axis=0))[::-1][: model.p]
        if int(reach.sum()) < len(model.demand):
            return f"reach only {int(reach.sum()):,} of {len(model.demand):,} units"
        return None
    try:
        _check_reach(model, cfg)
    except SpmoptError as error:
        return str(error)[:200]
    return None


def _result_record(result, model, seconds: float) -> dict:
    """Figures of one design result (balance over the first band's target)."""
    record = {
        "method": result.method,
        "status": result.status,
        "objective": _figure(result.objective),
        "bound": _figure(result.bound),
        "gap": _figure(result.gap),
        "seconds": round(seconds, 2),
        "work_seconds": round(result.work_seconds, 3),
    }
    if result.has_solution and model.bands:
        values, low, high = model.bands[0]
        sums = np.bincount(result.assignment, values, len(values))[result.centres]
        target = values.sum() / model.p
        record["territories"] = len(result.centres)
        record["balance_min"] = round(float(sums.min() / target), 6)
        record["balance_max"] = round(float(sums.max() / target), 6)
        record["within_band"] = bool(
            (sums >= low * (1 - 1e-9)).all() and (sums <= high * (1 + 1e-9)).all()
        )
        digest = hashlib.sha256(result.assignment.astype(np.int64).tobytes())
        record["design_digest"] = digest.hexdigest()[:16]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record["peak_rss_mb"] = round(peak / 1024, 1)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--deterministic-time", type=float, default=None)
    parser.add_argument("--limit", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.solver is not None:
        print(json.dumps(solve_one(args)), flush=True)
        return 0
    for solver in args.solvers.split(","):
        if solver not in SOLVERS:
            parser.error(f"--solvers: unknown {solver!r}; known: {SOLVERS}")
        child = [sys.executable, __file__, *(argv or sys.argv[1:])]
        done = subprocess.run([*child, "--solver", solver], check=False)
        if done.returncode != 0:
            print(json.dumps({"solver": solver, "error": done.returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
