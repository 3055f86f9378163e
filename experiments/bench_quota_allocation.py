"""Benchmark: quota allocation LP size and time up to 10,000 reps.

For each instance size the allocation LP (PuLP, HiGHS and CBC) is built
and solved, and compared with the closed-form water-filling allocation
measured in the same run (same optimum; the LP must match it to one
rounding unit per rep). The Monte-Carlo attainment check (10,000
scenarios) is timed and compared with the lognormal closed form. Prints
one JSON object per line.

Run: .venv/bin/python experiments/bench_quota_allocation.py [--sizes 100 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from spmopt.quota.allocation import QuotaAllocator
from spmopt.quota.attainment import closed_form_p_attain, simulate_attainment
from spmopt.quota.stretch import fill_quotas


def instance(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Lognormal potentials, a shuffled noisy history, target at 90 %."""
    rng = np.random.default_rng(seed)
    potential = np.round(rng.lognormal(13.5, 0.6, n), 2)
    history = potential * rng.uniform(0.5, 1.5, n)
    return potential, history, round(float(potential.sum()) * 0.9, 2)


def run_lp(potential, history, target, solver: str) -> dict:
    start = time.perf_counter()
    allocator = QuotaAllocator.from_potential(
        potential, target, 0.7, 1.1, reference=history
    ).build()
    built = time.perf_counter() - start
    result = allocator.solve(solver, time_limit=120.0)
    shares = history / history.sum()
    oracle = fill_quotas(shares, allocator.target, allocator.floor, allocator.cap)
    return {
        "solver": solver,
        "build_seconds": round(built, 3),
        "solve_seconds": round(result.seconds, 3),
        "lp_variables": result.n_variables,
        "lp_constraints": result.n_constraints,
        "objective": round(result.objective, 2),
        "sum_exact": int(result.quota_units.sum()) == allocator.target,
        "max_diff_vs_closed_form_units": float(
            np.abs(oracle - result.quota_units).max()
        ),
        "n_binding": int((result.binding != "none").sum()),
    }


def run_closed_form(potential, history, target) -> dict:
    start = time.perf_counter()
    allocator = QuotaAllocator.from_potential(
        potential, target, 0.7, 1.1, reference=history
    )
    fill_quotas(
        history / history.sum(), allocator.target, allocator.floor, allocator.cap
    )
    return {
        "solver": "closed_form_baseline",
        "solve_seconds": round(time.perf_counter() - start, 4),
    }


def run_attainment(potential, target, n_scenarios: int, seed: int) -> dict:
    """Monte-Carlo attainment vs the lognormal closed form, same quotas."""
    quota = potential * target / potential.sum()
    start = time.perf_counter()
    sim = simulate_attainment(
        quota, potential, 0.3, "lognormal", None, n_scenarios, seed
    )
    seconds = time.perf_counter() - start
    exact = closed_form_p_attain(quota, potential, 0.3, "lognormal")
    return {
        "solver": "attainment_monte_carlo",
        "n_scenarios": n_scenarios,
        "solve_seconds": round(seconds, 3),
        "max_abs_diff_vs_closed_form": round(
            float(np.abs(sim.p_attain - exact).max()), 5
        ),
        "largest_standard_error": round(sim.standard_error, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.sizes:
        potential, history, target = instance(n, args.seed)
        rows = [run_closed_form(potential, history, target)]
        rows += [run_lp(potential, history, target, s) for s in ("highs", "cbc")]
        rows.append(run_attainment(potential, target, 10_000, args.seed))
        for row in rows:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                json.dumps(
                    {
                        "bench": "quota_allocation",
                        "n_reps": n,
                        **row,
                        "peak_rss_mb": round(peak, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
