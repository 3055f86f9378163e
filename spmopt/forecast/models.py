"""Win-probability models: LightGBM, calibration and the baselines.

Every model follows the scikit-learn contract: the constructor stores
parameters, ``fit(X, y)`` returns ``self``, learned state ends in ``_``
and ``predict_proba`` returns probabilities of shape (n_rows, 2). Inputs
are the float matrices of :class:`~spmopt.forecast.features.FeatureEncoder`
(categories as integer codes, NaN missing).
"""

from __future__ import annotations

from typing import Any, Literal

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from spmopt._logging import logger
from spmopt.forecast.ensemble import TreeEnsemble, UnsupportedModelError
from spmopt.forecast.metrics import EPS, brier

CalibrationMethod = Literal["none", "platt", "isotonic"]
_HGB_MAX_CATEGORIES = 250


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p, p])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.log(q / (1 - q))


class BaseRateModel(ClassifierMixin, BaseEstimator):
    """Predicts the training win rate for every deal."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> BaseRateModel:
        """Store the mean of ``y`` as ``rate_``."""
        self.rate_ = float(np.mean(y))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Constant probabilities, shape (n_rows, 2)."""
        return _two_columns(np.full(len(X), self.rate_))


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on one-hot categories and scaled numbers.

    Parameters
    ----------
    n_categorical : int
        The first ``n_categorical`` columns of X are category codes.
    """

    def __init__(self, n_categorical: int = 0) -> None:
        self.n_categorical = n_categorical

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticBaseline:
        """Fit the one-hot + scaling + L2 logistic pipeline."""
        k = self.n_categorical
        cat = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=-1),
            OneHotEncoder(handle_unknown="ignore"),
        )
        num = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
        columns = ColumnTransformer(
            [("cat", cat, list(range(k))), ("num", num, list(range(k, X.shape[1])))]
        )
        model = LogisticRegression(max_iter=2000)
        self.pipeline_ = make_pipeline(columns, model).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Win and loss probabilities, shape (n_rows, 2)."""
        return np.asarray(self.pipeline_.predict_proba(X))


def hist_gb_baseline(n_categorical: int, n_features: int, seed: int) -> Any:
    """scikit-learn histogram gradient boosting with default settings.

    Category codes are native categories when there are at most 250 of
    them (the estimator's limit), numbers otherwise.
    """
    mask = np.zeros(n_features, dtype=bool)
    mask[:n_categorical] = True
    return _HGBWithCategories(categorical=mask, random_state=seed)


class _HGBWithCategories(ClassifierMixin, BaseEstimator):
    def __init__(self, categorical: np.ndarray, random_state: int = 0) -> None:
        self.categorical = categorical
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> _HGBWithCategories:
        cardinality = np.nan_to_num(np.nanmax(X, axis=0), nan=0.0) + 1
        native = self.categorical & (cardinality <= _HGB_MAX_CATEGORIES)
        self.model_ = HistGradientBoostingClassifier(
            categorical_features=native, random_state=self.random_state
        ).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(X))


class LightGBMWinModel(ClassifierMixin, BaseEstimator):
    """LightGBM binary classifier with native categories and early stopping.

    With ``class_weight="balanced"`` won deals are weighted by
    ``w = n_lost / n_won`` during training; probabilities are corrected
    afterwards by dividing the odds by ``w``, so they estimate the real
    win rate again.

    Parameters
    ----------
    categorical_features : tuple of int
        Column indices holding category codes.
    learning_rate, num_leaves, min_child_samples, feature_fraction,
    lambda_l2, cat_smooth : float or int
        LightGBM parameters of the same name.
    max_rounds, early_stopping_rounds : int
        Boosting rounds and patience on the validation log loss.
    class_weight : {"none", "balanced"}
    n_jobs : int
        Threads (at most 2 here).
    random_state : int
        Seed of every random choice in LightGBM.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    best_iteration_ : int
        Trees used for prediction.
    ensemble_ : TreeEnsemble or None
        The first ``best_iteration_`` trees compiled for vectorised
        scoring (:mod:`spmopt.forecast.ensemble`); None when they cannot
        be compiled, and LightGBM's own predict is used.
    """

    def __init__(
        self,
        categorical_features: tuple[int, ...] = (),
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        feature_fraction: float = 0.9,
        lambda_l2: float = 1.0,
        cat_smooth: float = 10.0,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        class_weight: str = "none",
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.categorical_features = categorical_features
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.lambda_l2 = lambda_l2
        self.cat_smooth = cat_smooth
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "cat_smooth": self.cat_smooth,
            "num_threads": self.n_jobs,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
    ) -> LightGBMWinModel:
        """Train; stop early on ``(X_valid, y_valid)`` when given."""
        from spmopt.scale.context import active_client

        y = np.asarray(y, dtype=float)
        self.pos_weight_ = _pos_weight(y) if self.class_weight == "balanced" else 1.0
        client = active_client(len(y))
        if client is not None:  # the job's Dask cluster: through lightgbm.dask
            from spmopt.scale.training import fit_on_cluster

            args = (self, self._params(), X, y, X_valid, y_valid)
            self.booster_, self.best_iteration_ = fit_on_cluster(client, *args)
            self.ensemble_ = compile_trees(self.booster_, self.best_iteration_)
            self.classes_ = np.array([0, 1])
            return self
        weight = np.where(y == 1, self.pos_weight_, 1.0)
        cats = list(self.categorical_features)
        train = lgb.Dataset(X, y, weight=weight, categorical_feature=cats)
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        if X_valid is not None and y_valid is not None:
            w_valid = np.where(np.asarray(y_valid) == 1, self.pos_weight_, 1.0)
            valid_sets = [train.create_valid(X_valid, y_valid, weight=w_valid)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(
            self._params(),
            train,
            num_boost_round=self.max_rounds,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.max_rounds)
        self.ensemble_ = compile_trees(self.booster_, self.best_iteration_)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Win and loss probabilities, shape (n_rows, 2), weight undone."""
        if self.ensemble_ is not None:
            raw = self.ensemble_.predict(X)
        else:
            raw = np.asarray(
                self.booster_.predict(X, num_iteration=self.best_iteration_)
            )
        odds = raw / np.clip(1 - raw, EPS, None) / self.pos_weight_
        return _two_columns(odds / (1 + odds))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the log-odds, shape (n_rows, n_feat + 1).

        The last column is the expected value (bias). The weight
        correction is not included.
        """
        return np.asarray(
            self.booster_.predict(
                X, num_iteration=self.best_iteration_, pred_contrib=True
            )
        )

    def importance(self) -> np.ndarray:
        """Total split gain per feature, normalised to sum to 1."""
        gain = self.booster_.feature_importance(
            "gain", iteration=self.best_iteration_
        ).astype(float)
        return gain / gain.sum() if gain.sum() > 0 else gain


def compile_trees(booster: lgb.Booster, num_iteration: int) -> TreeEnsemble | None:
    """The booster's first ``num_iteration`` trees compiled, or None.

    None (with a DEBUG line) when the model uses something the compiled
    evaluation does not reproduce, e.g. trees of more than 64 leaves.
    """
    try:
        return TreeEnsemble.from_booster(booster, num_iteration)
    except UnsupportedModelError as exc:
        logger.debug("trees not compiled (%s); LightGBM predicts", exc)
        return None


def _pos_weight(y: np.ndarray) -> float:
    won = float(np.sum(y == 1))
    return float(np.sum(y == 0)) / won if won else 1.0


class ProbabilityCalibrator(BaseEstimator):
    """Map raw probabilities to calibrated ones.

    Parameters
    ----------
    method : {"none", "platt", "isotonic"}
        Identity, logistic regression on the log-odds, or isotonic
        regression.
    """

    def __init__(self, method: CalibrationMethod = "none") -> None:
        self.method = method

    def fit(self, p: np.ndarray, y: np.ndarray) -> ProbabilityCalibrator:
        """Learn the mapping from ``p`` to the observed outcome ``y``."""
        if self.method == "platt":
            self.model_: Any = LogisticRegression(C=1e4).fit(
                _logit(p).reshape(-1, 1), y
            )
        elif self.method == "isotonic":
            self.model_ = IsotonicRegression(
                y_min=EPS, y_max=1 - EPS, out_of_bounds="clip"
            ).fit(p, y)
        else:
            self.model_ = None
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, shape (n_rows,)."""
        if self.method == "platt":
            return np.asarray(self.model_.predict_proba(_logit(p).reshape(-1, 1))[:, 1])
        if self.method == "isotonic":
            return np.asarray(self.model_.predict(p))
        return np.asarray(p)


def choose_calibration(
    p: np.ndarray, y: np.ndarray, seed: int, folds: int = 5, tolerance: float = 0.002
) -> tuple[CalibrationMethod, dict[str, float]]:
    """Pick the calibration with the lowest cross-fitted Brier score.

    Each method is fitted on ``folds - 1`` folds of the validation rows
    and scored on the held-out fold, so isotonic regression does not win
    by memorising. Methods are tried from simplest (none, Platt,
    isotonic); a more complex one is taken only when it lowers the
    Brier score by more than ``tolerance`` (relative), since a tie is
    noise and isotonic steps also merge ranks.

    Returns
    -------
    method : str
    scores : dict
        Cross-fitted Brier score per method.
    """
    methods: tuple[CalibrationMethod, ...] = ("none", "platt", "isotonic")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores: dict[str, float] = {}
    for method in methods:
        out = np.empty(len(p))
        for fit_rows, held in splitter.split(p.reshape(-1, 1), y):
            calibrator = ProbabilityCalibrator(method).fit(p[fit_rows], y[fit_rows])
            out[held] = calibrator.transform(p[held])
        scores[method] = brier(y, out)
    best: CalibrationMethod = "none"
    for method in methods[1:]:
        if scores[method] < scores[best] * (1 - tolerance):
            best = method
    return best, scores
