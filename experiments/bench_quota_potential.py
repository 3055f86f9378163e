"""Benchmark: potential model pinball loss against baselines on held-out periods.

Bundled Maven CRM data; models are fitted on the periods before the test
periods (train + validation) and scored on the test periods. Baselines
(last period; trailing mean times growth) are measured in the same run.
``lightgbm_calibrated`` shifts each LightGBM quantile by the matching
quantile of its residuals on the validation periods (fit on train only).
Prints one JSON object per line. No MLflow run is recorded.

Run: .venv/bin/python experiments/bench_quota_potential.py
"""

from __future__ import annotations

import json
import time

from spmopt.config import parse_config
from spmopt.quota.config import PotentialConfig
from spmopt.quota.potential import build_panel
from spmopt.quota.potential_job import (
    evaluate,
    read_inputs,
    time_split,
    validation_offsets,
)

SETTINGS = [
    {"entity": "account", "period": "month", "valid_periods": 2, "test_periods": 2},
    {"entity": "sales_agent", "period": "month", "valid_periods": 2, "test_periods": 2},
]


def main(seed: int = 0) -> None:
    for fields in SETTINGS:
        cfg = parse_config(PotentialConfig, {**fields, "track": False})
        pipeline, attrs = read_inputs(cfg)
        panel = build_panel(
            pipeline, cfg.entity, cfg.period, attrs, cfg.trailing_periods
        )
        split = time_split(panel, cfg.valid_periods, cfg.test_periods)
        start = time.perf_counter()
        _, fitted = evaluate(panel, split.train, split.valid, cfg, seed)
        offsets = validation_offsets(panel, split, fitted["lightgbm"])
        fit = split.train | split.valid
        scores, _ = evaluate(panel, fit, split.test, cfg, seed, offsets)
        seconds = time.perf_counter() - start
        for model, values in scores.items():
            print(
                json.dumps(
                    {
                        "bench": "quota_potential",
                        **fields,
                        "model": model,
                        "test_periods_list": split.periods["test"],
                        "n_fit": int((split.train | split.valid).sum()),
                        "n_test": int(split.test.sum()),
                        **values,
                        "fit_all_models_seconds": round(seconds, 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
