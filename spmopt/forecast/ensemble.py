"""Vectorised evaluation of a LightGBM tree ensemble in numpy.

LightGBM walks every tree node by node for one row at a time. Here the
whole ensemble is compiled once into lookup tables and evaluated for
thousands of rows at a time with a few array operations per feature:

1. Each feature's values are cut into bins by every threshold any tree
   uses on it (categorical features: one bin per category code, plus one
   bin for everything that always goes right: missing, negative or
   unknown codes). Missing and zero values get their own bins, so each
   node's missing-value rule is exact.
2. Leaves of each tree are numbered left to right. For a bin b of
   feature f and a tree t, ``mask[f][b, t]`` has a bit set for every
   leaf still reachable when every node of t on f is decided by b: a
   node whose test sends b right clears the bits of its left subtree.
3. The leaf a row ends in is the leftmost leaf that every feature's mask
   keeps (the lowest set bit of the AND of its masks). Low-cardinality
   features are grouped so that one table lookup serves several of them.
4. The raw score is the sum of those leaves' values; the probability is
   its logistic sigmoid.

Trees of more than 64 leaves do not fit one 64-bit mask; such ensembles,
any objective other than ``binary``, and ensembles whose tables would
exceed 256 MiB are refused, and callers fall back to ``Booster.predict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_LEAVES = 64
_ZERO = float(np.float32(1e-35))  # LightGBM kZeroThreshold (a float32)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_MAX_GROUP_BINS = 1024
MAX_TABLE_BYTES = 256 * 2**20
_CHUNK_ROWS = 2048


class UnsupportedModelError(ValueError):
    """The booster uses a feature this evaluator does not reproduce."""


@dataclass(frozen=True)
class _Node:
    tree: int
    feature: int
    categorical: bool
    threshold: float
    left_set: frozenset[int]
    default_left: bool
    missing: str
    left_leaves: np.uint64


@dataclass(frozen=True)
class _Tree:
    nodes: list[_Node]
    values: list[float]


class _FeatureBins:
    """How one feature's values map to bins, and which bins go right per node.

    Parameters
    ----------
    nodes : list of _Node
        Every node of the ensemble that splits on this feature.
    """

    def __init__(self, nodes: list[_Node]) -> None:
        self.categorical = nodes[0].categorical
        if self.categorical:
            top = max((max(n.left_set, default=-1) for n in nodes), default=-1)
            self.n_codes = top + 1
            self.n_bins = self.n_codes + 1
        else:
            self.thresholds = np.unique([n.threshold for n in nodes])
            self.n_bins = len(self.thresholds) + 3

    def bins(self, x: np.ndarray) -> np.ndarray:
        """Bin index of each value, shape (n_rows,), int64."""
        if self.categorical:
            with np.errstate(invalid="ignore"):
                code = np.trunc(x)
                inside = (code >= 0) & (code < self.n_codes)
            return np.where(inside, code, self.n_codes).astype(np.int64)
        m = len(self.thresholds)
        out = np.searchsorted(self.thresholds, x, side="left").astype(np.int64)
        out[np.abs(x) <= _ZERO] = m + 1
        out[np.isnan(x)] = m + 2
        return out

    def goes_right(self, node: _Node) -> np.ndarray:
        """Boolean mask over bins: which bins the node sends right."""
        if self.categorical:
            right = np.ones(self.n_bins, dtype=bool)
            right[sorted(node.left_set)] = False
            return right
        m = len(self.thresholds)
        k = int(np.searchsorted(self.thresholds, node.threshold))
        right = np.zeros(self.n_bins, dtype=bool)
        right[k + 1 : m + 1] = True
        zero_right = node.threshold < 0.0
        default_right = not node.default_left
        right[m + 1] = default_right if node.missing == "Zero" else zero_right
        right[m + 2] = zero_right if node.missing == "None" else default_right
        return right


class TreeEnsemble:
    """A LightGBM binary model compiled for vectorised scoring.

    Build it with :meth:`from_booster`; :meth:`raw_score` and
    :meth:`predict` then equal ``Booster.predict(X, raw_score=True)`` and
    ``Booster.predict(X)`` to rounding (sums in another order).

    Attributes
    ----------
    n_features : int
        Columns expected in X.
    n_trees : int
        Trees evaluated.
    """

    def __init__(
        self,
        trees: list[_Tree],
        n_features: int,
        sigmoid: float,
    ) -> None:
        self.n_features = n_features
        self.n_trees = len(trees)
        self.sigmoid = sigmoid
        self.values_ = np.zeros((len(trees), MAX_LEAVES))
        for t, tree in enumerate(trees):
            self.values_[t, : len(tree.values)] = tree.values
        nodes = [node for tree in trees for node in tree.nodes]
        by_feature: dict[int, list[_Node]] = {}
        for node in nodes:
            by_feature.setdefault(node.feature, []).append(node)
        self.features_ = {f: _FeatureBins(ns) for f, ns in sorted(by_feature.items())}
        layout = _layout(self.features_, self.n_trees)
        masks = {
            f: self._masks(bins, by_feature[f]) for f, bins in self.features_.items()
        }
        self.groups_ = [
            _Group(members, [self.features_[f].n_bins for f in members], masks)
            for members in layout
        ]

    @classmethod
    def from_booster(
        cls, booster: Any, num_iteration: int | None = None
    ) -> TreeEnsemble:
        """Compile the first ``num_iteration`` trees of a LightGBM booster.

        Raises
        ------
        UnsupportedModelError
            Not a single-output binary model, linear trees, or a tree with
            more than 64 leaves.
        """
        model = booster.dump_model(num_iteration=num_iteration)
        objective = str(model.get("objective", ""))
        if not objective.startswith("binary") or model["num_tree_per_iteration"] != 1:
            raise UnsupportedModelError(f"objective {objective!r} is not binary")
        if model.get("average_output"):
            raise UnsupportedModelError("averaged (random forest) output")
        sigmoid = (
            float(objective.split("sigmoid:")[1]) if "sigmoid:" in objective else 1.0
        )
        trees = [
            _parse_tree(t, info["tree_structure"])
            for t, info in enumerate(model["tree_info"])
        ]
        return cls(trees, int(model["max_feature_idx"]) + 1, sigmoid)

    def _masks(self, bins: _FeatureBins, nodes: list[_Node]) -> np.ndarray:
        masks = np.full((bins.n_bins, self.n_trees), _ALL, dtype=np.uint64)
        for node in nodes:
            right = bins.goes_right(node)
            masks[right, node.tree] &= ~node.left_leaves
        return masks

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """Sum of leaf values (log-odds) per row, shape (n_rows,).

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            Float features; NaN missing, categories as integer codes.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must have shape (n_rows, {self.n_features}), got {X.shape}"
            )
        if not self.groups_:  # no tree splits: every row in leaf 0
            return np.full(len(X), self.values_[:, 0].sum())
        out = np.empty(len(X))
        for start in range(0, len(X), _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            out[rows] = self._chunk(X[rows])
        return out

    def _chunk(self, X: np.ndarray) -> np.ndarray:
        index = [group.index(X, self.features_) for group in self.groups_]
        reach = np.take(self.groups_[0].table, index[0], axis=0)
        scratch = np.empty_like(reach)
        for group, rows in zip(self.groups_[1:], index[1:], strict=True):
            np.take(group.table, rows, axis=0, out=scratch)
            np.bitwise_and(reach, scratch, out=reach)
        np.invert(reach, out=scratch)
        scratch += np.uint64(1)
        np.bitwise_and(reach, scratch, out=reach)  # lowest set bit only
        leaf = np.frexp(reach.astype(float))[1] - 1
        leaf += np.arange(self.n_trees) * MAX_LEAVES
        return self.values_.ravel().take(leaf).sum(axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Win probability per row, shape (n_rows,)."""
        return 1.0 / (1.0 + np.exp(-self.sigmoid * self.raw_score(X)))


class _Group:
    """Several features looked up at once through one combined table.

    ``table[b]`` is the AND of the member features' masks for the bins
    encoded in ``b`` (mixed radix, first feature most significant).
    """

    def __init__(
        self, features: list[int], sizes: list[int], masks: dict[int, np.ndarray]
    ) -> None:
        self.features = features
        self.strides = [int(np.prod(sizes[i + 1 :])) for i in range(len(sizes))]
        combined = np.arange(int(np.prod(sizes)))
        self.table = np.full((len(combined), masks[features[0]].shape[1]), _ALL)
        for f, size, stride in zip(features, sizes, self.strides, strict=True):
            self.table &= masks[f][(combined // stride) % size]

    def index(self, X: np.ndarray, bins: dict[int, _FeatureBins]) -> np.ndarray:
        """Row of ``table`` for each row of X, shape (n_rows,)."""
        out = np.zeros(len(X), dtype=np.int64)
        for f, stride in zip(self.features, self.strides, strict=True):
            out += bins[f].bins(X[:, f]) * stride
        return out


def _layout(bins: dict[int, _FeatureBins], n_trees: int) -> list[list[int]]:
    """Features per lookup table: fewest bins first, at most 1024 rows each.

    Falls back to one table per feature when grouping would take more
    than ``MAX_TABLE_BYTES``.

    Raises
    ------
    UnsupportedModelError
        When even one table per feature exceeds ``MAX_TABLE_BYTES``.
    """
    row_bytes = 8 * n_trees
    for limit in (_MAX_GROUP_BINS, 1):
        groups: list[list[int]] = []
        size = 0
        for f in sorted(bins, key=lambda f: (bins[f].n_bins, f)):
            if groups and size * bins[f].n_bins <= limit:
                groups[-1].append(f)
                size *= bins[f].n_bins
            else:
                groups.append([f])
                size = bins[f].n_bins
        rows = sum(int(np.prod([bins[f].n_bins for f in g])) for g in groups)
        if rows * row_bytes <= MAX_TABLE_BYTES:
            return groups
    raise UnsupportedModelError(
        f"lookup tables would take {rows * row_bytes / 2**20:.0f} MiB"
    )


def _parse_tree(t: int, root: dict[str, Any]) -> _Tree:
    """Nodes and left-to-right leaf values of one dumped LightGBM tree."""
    nodes: list[_Node] = []
    values: list[float] = []

    def walk(node: dict[str, Any]) -> np.uint64:
        if "leaf_value" in node or "split_feature" not in node:
            if "leaf_coeff" in node:
                raise UnsupportedModelError("linear trees")
            values.append(float(node.get("leaf_value", 0.0)))
            if len(values) > MAX_LEAVES:
                raise UnsupportedModelError(f"a tree has more than {MAX_LEAVES} leaves")
            return np.uint64(1) << np.uint64(len(values) - 1)
        left = walk(node["left_child"])
        right = walk(node["right_child"])
        nodes.append(_node(t, node, left))
        return left | right

    walk(root)
    return _Tree(nodes, values)


def _node(t: int, node: dict[str, Any], left_leaves: np.uint64) -> _Node:
    categorical = node["decision_type"] == "=="
    threshold = node["threshold"]
    left_set: frozenset[int] = frozenset()
    if categorical:
        left_set = frozenset(int(c) for c in str(threshold).split("||"))
        threshold = float("nan")
    return _Node(
        tree=t,
        feature=int(node["split_feature"]),
        categorical=categorical,
        threshold=float(threshold),
        left_set=left_set,
        default_left=bool(node["default_left"]),
        missing=str(node["missing_type"]),
        left_leaves=left_leaves,
    )
