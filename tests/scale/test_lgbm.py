from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from spmopt.data import IBM_CATEGORICAL, IBM_LEAKY_COLUMNS, IBM_NUMERIC, load_ibm
from spmopt.errors import DataError
from spmopt.forecast.features import FeatureEncoder
from spmopt.scale.lgbm import (
    DaskWinModel,
    distinct_values_frame,
    score_partitions,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:Sending large graph", "ignore:Parameter .* will be ignored"
)


@pytest.fixture(scope="module")
def ibm_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_ibm().drop(columns=list(IBM_LEAKY_COLUMNS))
    test = np.random.default_rng(0).random(len(frame)) < 0.25
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def toy() -> pd.DataFrame:
    return pd.DataFrame(
        {"region": ["b", "a", None, "c", "a"], "amount": [1.0, 2.0, 3.0, None, 5.0]}
    )


def test_categories_are_sorted_and_unseen_become_missing() -> None:
    encoder = FeatureEncoder(["region"], ["amount"]).fit(toy())
    assert encoder.categories_ == {"region": ["a", "b", "c"]}
    scored = pd.DataFrame({"region": ["c", "zzz", None], "amount": [1.0, 2.0, 3.0]})
    codes = encoder.transform(scored)
    np.testing.assert_array_equal(codes[:, 0], [2.0, np.nan, np.nan])
    np.testing.assert_array_equal(codes[:, 1], [1.0, 2.0, 3.0])


def test_distinct_values_of_a_dask_frame_fit_the_same_categories() -> None:
    frame = toy()
    lazy = dd.from_pandas(frame, npartitions=3)
    direct = FeatureEncoder(["region"], []).fit(frame)
    with dask.config.set(scheduler="sync"):
        distinct = distinct_values_frame(lazy, ["region"])
    via = FeatureEncoder(["region"], []).fit(distinct)
    assert via.categories_ == direct.categories_


def test_bad_inputs_name_the_problem() -> None:
    frame = toy().assign(won=[0, 1, 0, 1, 2])
    with pytest.raises(DataError, match="'missing'"):
        DaskWinModel(["missing"], []).fit(frame, frame["won"])
    with pytest.raises(DataError, match=r"both 0 \(lost\) and 1 \(won\).*2"):
        DaskWinModel(["region"], ["amount"]).fit(frame, frame["won"])


@pytest.mark.slow  # the job-level test (test_jobs_scheduler.py) checks the AUC
def test_two_worker_model_matches_local_auc_on_ibm(
    ibm_split: tuple[pd.DataFrame, pd.DataFrame], client_2: Any
) -> None:
    train, test = ibm_split
    params: dict[str, Any] = dict(n_estimators=60, learning_rate=0.1)
    local = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, **params)
    local.fit(train, train["won"])
    lazy = dd.from_pandas(train, npartitions=4)
    spread = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, **params)
    spread.fit(lazy, lazy["won"], client=client_2)
    assert spread.n_workers_ == 2
    auc_local = roc_auc_score(test["won"], local.win_probability(test))
    auc_spread = roc_auc_score(test["won"], spread.win_probability(test))
    assert auc_local > 0.75  # the stage-free IBM features carry real signal
    assert abs(auc_spread - auc_local) <= 0.01
    assert spread.encoder_.categories_ == local.encoder_.categories_
    assert type(spread.model_) is type(local.model_)


def test_scoring_over_partitions_equals_scoring_in_one_piece(
    ibm_split: tuple[pd.DataFrame, pd.DataFrame], client_1: Any
) -> None:
    train, test = ibm_split
    model = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, n_estimators=30)
    model.fit(train, train["won"])
    lazy = dd.from_pandas(test, npartitions=5)
    scores = client_1.compute(score_partitions(lazy, model.win_probability)).result()
    np.testing.assert_allclose(scores.to_numpy(), model.win_probability(test))
    assert scores.between(0, 1).all()
    assert scores.index.equals(test.index)


def test_forecast_feature_encoder_plugs_in_with_the_same_categories(
    ibm_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from spmopt.forecast import FeatureEncoder

    train, test = ibm_split
    small = train.iloc[:5000]
    lazy = dd.from_pandas(small, npartitions=3)
    encoder = FeatureEncoder(IBM_CATEGORICAL, IBM_NUMERIC)
    model = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, n_estimators=20, encoder=encoder)
    with dask.config.set(scheduler="sync"):
        model.fit(lazy, lazy["won"])
    direct = FeatureEncoder(IBM_CATEGORICAL, IBM_NUMERIC).fit(small)
    assert model.encoder_.categories_ == direct.categories_
    assert not hasattr(encoder, "categories_")  # the given encoder stays unfitted
    np.testing.assert_array_equal(
        model.encoder_.transform(test.iloc[:50]), direct.transform(test.iloc[:50])
    )


def test_forecaster_scores_a_large_table_partition_by_partition(
    ibm_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from spmopt.forecast import WinForecaster

    train, test = ibm_split
    forecaster = WinForecaster(
        IBM_CATEGORICAL, IBM_NUMERIC, {"max_rounds": 30}, calibration="none"
    )
    forecaster.fit(train.iloc[:8000], train["won"].to_numpy()[:8000])
    lazy = dd.from_pandas(test, npartitions=4)
    scored = score_partitions(lazy, forecaster.win_probability)
    scores = scored.compute(scheduler="sync")
    np.testing.assert_allclose(scores.to_numpy(), forecaster.win_probability(test))


def potential_accounts(n: int, seed: int) -> pd.DataFrame:
    """Accounts whose yearly potential (USD) depends on industry and size."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["retail", "health", "energy", "tech"], n)
    employees = rng.lognormal(5.0, 1.0, n)
    lift = pd.Series(industry).map({"retail": 1.0, "health": 1.5, "energy": 2.0})
    scale = lift.fillna(3.0).to_numpy() * employees * 100.0
    potential = scale * rng.lognormal(0.0, 0.5, n)
    return pd.DataFrame(
        {"industry": industry, "employees": employees, "potential": potential}
    )


def test_quantile_potential_model_covers_its_level_on_two_workers(
    client_2: Any,
) -> None:
    from spmopt.scale.lgbm import DaskQuantileModel

    train, test = potential_accounts(6000, 0), potential_accounts(4000, 1)
    params: dict[str, Any] = dict(alpha=0.9, n_estimators=80, learning_rate=0.1)
    local = DaskQuantileModel(["industry"], ["employees"], **params)
    local.fit(train, train["potential"])
    lazy = dd.from_pandas(train, npartitions=4)
    spread = DaskQuantileModel(["industry"], ["employees"], **params)
    spread.fit(lazy, lazy["potential"], client=client_2)
    assert spread.n_workers_ == 2
    below_local = np.mean(test["potential"] <= local.predict(test))
    below_spread = np.mean(test["potential"] <= spread.predict(test))
    assert 0.86 <= below_local <= 0.94
    assert 0.86 <= below_spread <= 0.94
    assert abs(below_spread - below_local) <= 0.03


def test_quantile_level_is_checked() -> None:
    from spmopt.errors import ConfigError
    from spmopt.scale.lgbm import DaskQuantileModel

    frame = potential_accounts(50, 0)
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\), got 1.5"):
        DaskQuantileModel(["industry"], ["employees"], alpha=1.5).fit(
            frame, frame["potential"]
        )
