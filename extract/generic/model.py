"""The field model: multinomial logistic regression over sparse string features, stored as JSON.

``model.json`` holds the label names, a bias per label and, per feature, one
weight per label. Loading takes milliseconds; scoring a page's segments is one
numpy gather and sum. ``use_model`` swaps the model (leave-one-market-out runs).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("model.json")
MODEL_VERSION = 1


class FieldModel:
    def __init__(self, data: dict):
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"field model version {data.get('version')!r}, expected {MODEL_VERSION}")
        self.labels: tuple[str, ...] = tuple(data["labels"])
        self._columns = {name: i for i, name in reversed(list(enumerate(self.labels)))}
        self.index = {name: i for i, name in enumerate(data["features"])}
        self.weights = np.array(list(data["features"].values()) or np.zeros((0, len(self.labels))), dtype=np.float64)
        self.weights = self.weights.reshape(len(self.index), len(self.labels))
        self.bias = np.array(data["bias"], dtype=np.float64)
        self._weights_and_bias = np.vstack([self.weights, self.bias[None, :]])
        self.data = data
        self.page = FieldModel(data["page_type"]) if data.get("page_type") else None

    def column(self, label: str) -> int:
        return self._columns[label] if label in self._columns else self.labels.index(label)

    def probabilities(self, feature_lists: list[list[str]]) -> np.ndarray:
        """One row of label probabilities per feature list.

        Each row's score is its bias plus the weights of its known features, added in the
        features' order; the sums are gathered per label with ``bincount`` (the bias enters
        as the row's first term, so the additions and their rounding are those of a plain loop).
        Identical feature lists (records of a page repeat their build) are scored once: every
        step works row by row, so a row's figures do not depend on the rows beside it."""
        n = len(feature_lists)
        if n == 0:
            return np.tile(self.bias, (0, 1))
        rows_of: dict = {}
        inverse = [rows_of.setdefault(tuple(features), len(rows_of)) for features in feature_lists]
        m = len(rows_of)
        get, bias_row = self.index.get, len(self.index)
        cols: list[int] = []
        lengths: list[int] = []
        for features in rows_of:
            known = [col for col in map(get, features) if col is not None]
            cols.append(bias_row)
            cols.extend(known)
            lengths.append(len(known) + 1)
        rows = np.repeat(np.arange(m), lengths)
        gathered = self._weights_and_bias[np.array(cols, dtype=np.intp)]
        scores = np.empty((m, len(self.labels)), dtype=np.float64)
        for label in range(len(self.labels)):
            scores[:, label] = np.bincount(rows, weights=gathered[:, label], minlength=m)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores if m == n else scores[np.array(inverse, dtype=np.intp)]


_ACTIVE: dict = {"model": None, "off": False}


def load_model(path: Path = MODEL_PATH) -> FieldModel:
    return FieldModel(json.loads(path.read_text(encoding="utf-8")))


def active_model() -> FieldModel | None:
    """The model in use: the shipped one unless ``use_model`` set another; None if none is shipped."""
    if _ACTIVE["off"]:
        return None
    if _ACTIVE["model"] is None and MODEL_PATH.exists():
        _ACTIVE["model"] = load_model()
    return _ACTIVE["model"]


def use_model(data: dict | FieldModel | None, keep_off: bool = False) -> None:
    """Use this model from now on (None: the shipped one; with ``keep_off``, none at all, as in training)."""
    _ACTIVE["model"] = data if isinstance(data, FieldModel) or data is None else FieldModel(data)
    _ACTIVE["off"] = keep_off
