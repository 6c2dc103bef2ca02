"""Train the generic extractor's field model from labelled pages, and write ``model.json``.

    python -m extract.generic.train [--corpus ../shared/corpus] [--out extract/generic/model.json]

Each gold page is read by the generic page object exactly as at extraction
time: its records (or its lone product block) are cut into segments with their
features; a segment's label comes from the gold listing its record shows (the
title, the vendor, a price, ships from/to, city, district, drop type, quantity,
else none). A multinomial logistic regression (numpy, L2, Adam) is fitted on
them. Training needs numpy only; the model ships as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from extract.document import UnreadablePage, parse
from extract.generic.fields import LABELS, gold_label, match_gold
from extract.gates import gate_type
from extract.generic.model import MODEL_PATH, MODEL_VERSION, use_model
from extract.generic.page import GenericPage
from extract.generic.pagetype import PAGE_TYPES

RECORDS_PER_PAGE = 8


def page_samples(raw: bytes, gold: dict) -> dict:
    """The page's own sample (features, page type) and (features, label) for every segment
    of its labelled records."""
    out = {"page": None, "fields": [], "market": gold.get("market")}
    if gold.get("page_type") not in PAGE_TYPES:
        return out  # gates and errors are told apart by extract.gates, not by the model
    try:
        doc = parse(raw)
    except UnreadablePage:
        return out
    if gate_type(doc) is not None:
        return out
    use_model(None, keep_off=True)
    page = GenericPage(doc)
    out["page"] = (page.features, gold["page_type"])
    golds = gold.get("listings") or []
    if not golds or gold.get("page_type") not in ("listing", "category", "vendor"):
        return out
    detail = gold["page_type"] == "listing" and len(golds) == 1
    groups, _ = page.segment_groups(detail=detail)
    if not detail and len(groups) > RECORDS_PER_PAGE:
        step = len(groups) / RECORDS_PER_PAGE
        groups = [groups[int(i * step)] for i in range(RECORDS_PER_PAGE)]
    samples = []
    for segments in groups:
        listing = golds[0] if detail else match_gold(segments, golds)
        if listing is None:
            continue
        seen = set()
        for segment in segments:
            label = gold_label(segment, listing)
            if label == "title" and "title" in seen:
                label = "none"  # the title once; repeats (alt texts, tooltips) are noise
            seen.add(label)
            samples.append((segment.features, label))
    out["fields"] = samples
    return out


def fit(pages: list[dict]) -> dict:
    """The model dict (see model.py): the field model and the page-type model."""
    by_market: dict = {}
    for p in pages:
        by_market.setdefault(p.get("market"), []).append(p)
    # Each market weighs as the square root of its size, so one large market cannot dominate.
    model = fit_softmax([[s for p in group for s in p["fields"]] for group in by_market.values()], LABELS)
    model["page_type"] = fit_softmax([[p["page"] for p in group if p["page"]] for group in by_market.values()],
                                     PAGE_TYPES, epochs=200, l2=1e-3)
    return model


def fit_softmax(pages: list[list[tuple[list[str], str]]], LABELS=LABELS, epochs: int = 120, l2: float = 1e-4,
                min_count: int = 2) -> dict:
    """Multinomial logistic regression from per-page samples; pages weigh alike whatever their size."""
    counts = Counter(f for samples in pages for features, _ in samples for f in set(features))
    vocabulary = sorted(f for f, c in counts.items() if c >= min_count)
    index = {f: i for i, f in enumerate(vocabulary)}
    label_index = {name: i for i, name in enumerate(LABELS)}
    rows, cols, ys, weights = [], [], [], []
    n = 0
    for samples in pages:
        if not samples:
            continue
        w = 1.0 / np.sqrt(len(samples))
        for features, label in samples:
            for f in set(features):
                if f in index:
                    rows.append(n)
                    cols.append(index[f])
            ys.append(label_index[label])
            weights.append(w)
            n += 1
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    y = np.array(ys, dtype=np.int64)
    sample_w = np.array(weights)
    sample_w /= sample_w.mean()
    k, d = len(LABELS), len(vocabulary)
    W = np.zeros((d, k))
    b = np.zeros(k)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    order = np.argsort(rows, kind="stable")
    rows_s, cols_s = rows[order], cols[order]
    starts = np.searchsorted(rows_s, np.arange(n))
    col_order = np.argsort(cols, kind="stable")
    cols_c, rows_c = cols[col_order], rows[col_order]
    col_starts = np.searchsorted(cols_c, np.arange(d))
    has_col = np.bincount(cols_c, minlength=d) > 0
    m_w, v_w, m_b, v_b = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        gathered = W[cols_s]
        scores = np.zeros((n, k))
        nonempty = starts < len(rows_s)
        if len(rows_s):
            sums = np.add.reduceat(gathered, starts[nonempty], axis=0)
            # reduceat over empty rows repeats the next row's value: keep only rows that own features
            lengths = np.diff(np.append(starts, len(rows_s)))
            owned = np.where(nonempty)[0]
            scores[owned[lengths[owned] > 0]] = sums[lengths[owned] > 0]
        scores += b
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * sample_w[:, None] / n
        gW = np.zeros_like(W)
        if len(cols_c):
            summed = np.add.reduceat(g[rows_c], col_starts[has_col], axis=0)
            gW[has_col] = summed
        gW += l2 * W
        gb = g.sum(axis=0)
        for param, grad, m, v in ((W, gW, m_w, v_w), (b, gb, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= lr * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps)
    return {
        "version": MODEL_VERSION,
        "labels": list(LABELS),
        "bias": [round(float(x), 4) for x in b],
        "features": {f: [round(float(x), 4) for x in W[i]] for i, f in enumerate(vocabulary)},
        "trained_on": {"pages": sum(1 for s in pages if s), "samples": int(n)},
    }


def corpus_samples(corpus: Path, skip_market: str | None = None) -> list[list[tuple[list[str], str]]]:
    pages = []
    for root, _, files in os.walk(corpus / "gold"):
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            gold = json.loads((Path(root) / name).read_text(encoding="utf-8"))
            if gold.get("market") == skip_market:
                continue
            pages.append(page_samples((corpus / "pages" / gold["source"]).read_bytes(), gold))
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    if not (args.corpus / "gold").is_dir():
        print(f"no corpus at {args.corpus} (expected gold/ and pages/)", file=sys.stderr)
        return 2
    pages = corpus_samples(args.corpus)
    model = fit(pages)
    markets = sorted({p["market"] for p in pages if p.get("market")})
    model["trained_on"] = {"markets": markets, "pages": sum(1 for p in pages if p["page"]),
                           "segments": model["trained_on"]["samples"]}
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    labels = Counter(label for page in pages for _, label in page["fields"])
    print(f"{args.out}: {len(model['features'])} features, {model['trained_on']['segments']} segments "
          f"from {model['trained_on']['pages']} pages of {len(markets)} markets; labels {dict(labels)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
