"""The linear baseline beside the model, scored on the same sets in one run.

The baseline is logistic regression over naive-Bayes-weighted word 1-3-gram features (the NBSVM
idea of Wang and Manning, ACL 2012, with a logistic loss), fitted on the same training split the
model is trained on: the IMDb training reviews minus the validation split `sentiment prepare`
holds out (same fraction, same seed, so the same reviews). Both are then scored on

- validation: the held-out training reviews, whole;
- short validation: snippets of those same reviews (sentiment.data.snippets), the stand-in for
  what visitors type;
- test: the 25,000 IMDb test reviews, only with --test (final figures; never for choosing).

Accuracy is also given by review length in words (<= 20, 21-100, 101-400, over 400).

With --dataset, the split is the one that prepared folder was made with (its manifest's reviews,
validation fraction and seed, checked against the reviews' content hash), and the baseline's
validation figures are written beside the folder (sentiment.data.baseline_figures), where the
stacks find them for the model registry. `make prepare` runs this after `sentiment prepare`.

    sentiment baseline --model models/default --test --out build/baseline.json
    sentiment baseline --dataset data/processed --data ../shared/data/imdb   # -> data/processed-baseline.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sentiment.data.prepare import limit_reviews, source_description, split_validation
from sentiment.data.reviews import Review, SourceError, default_source, load_reviews
from sentiment.data.snippets import short_snippets, words
from sentiment.models import ModelPathError, resolve_model_dir
from sentiment.paths import DEFAULT_MODEL

LENGTH_BUCKETS = ((0, 20, "<=20"), (21, 100, "21-100"), (101, 400, "101-400"), (401, None, ">400"))
# prepare's defaults: the validation split the model was tuned on.
VALIDATION_FRACTION = 0.1
SPLIT_SEED = 42


def nb_features(counts, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """The log-count ratio r of NBSVM: log of (share of each feature among positive reviews) over
    (share among negative ones), with add-alpha smoothing."""
    positive = np.asarray(counts[labels == 1].sum(axis=0)).ravel() + alpha
    negative = np.asarray(counts[labels == 0].sum(axis=0)).ravel() + alpha
    return np.log((positive / positive.sum()) / (negative / negative.sum()))


class Baseline:
    """Binary 1-3-gram presence, scaled by the NB log-count ratio, into logistic regression."""

    def __init__(self, c: float = 30.0, min_df: int = 2) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        from sentiment_model.preprocessing import TextSettings, Tokenizer

        self.vectorizer = CountVectorizer(tokenizer=Tokenizer(TextSettings()), lowercase=False, token_pattern=None,
                                          ngram_range=(1, 3), min_df=min_df, binary=True, dtype=np.float32)
        self.c = c

    def fit(self, texts: list[str], labels: list[int]) -> Baseline:
        from sklearn.linear_model import LogisticRegression

        counts = self.vectorizer.fit_transform(texts)
        labels = np.asarray(labels)
        self.ratio = nb_features(counts, labels).astype(np.float32)
        self.classifier = LogisticRegression(C=self.c, max_iter=1000, solver="liblinear")
        self.classifier.fit(counts.multiply(self.ratio).tocsr(), labels)
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        counts = self.vectorizer.transform(texts)
        return self.classifier.predict_proba(counts.multiply(self.ratio).tocsr())[:, 1]


def by_length(reviews: list[Review], scores) -> dict:
    out = {}
    lengths = np.array([words(r.text) for r in reviews])
    correct = (np.asarray(scores) >= 0.5) == np.array([r.label for r in reviews])
    for low, high, name in LENGTH_BUCKETS:
        inside = (lengths >= low) & (lengths <= (high if high is not None else lengths.max()))
        out[name] = {"reviews": int(inside.sum()),
                     "accuracy": float(correct[inside].mean()) if inside.any() else None}
    return out


def figures(reviews: list[Review], scores) -> dict:
    from sentiment.evaluation.metrics import compute_metrics

    metrics = compute_metrics([r.label for r in reviews], scores)
    return {"reviews": metrics["reviews"], "accuracy": metrics["accuracy"], "roc_auc": metrics["roc_auc"],
            "expected_calibration_error": metrics["expected_calibration_error"],
            "by_length": by_length(reviews, scores)}


def short_label_noise(snippets: list[Review], full_scores: dict[str, float]) -> float:
    """A lower bound on how often a snippet's label is wrong for the snippet alone: the share of
    snippets the baseline calls confidently (p < 0.1 or > 0.9) against their label, although it
    gets their whole review right. (Hand-checking a sample is the honest measure; this proxy
    can be computed on every run.)"""
    return 0.0 if not snippets else float(np.mean([
        (full_scores[s.id.split(":")[0]] >= 0.5) == bool(s.label) and abs(full_scores["snip:" + s.id] - s.label) > 0.9
        for s in snippets]))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data",
                        help="labelled IMDb reviews, any review source (default: with --dataset the source its "
                             f"manifest names, else {default_source()})")
    parser.add_argument("--dataset",
                        help="a `sentiment prepare` folder: fit on its training split and write the baseline's "
                             "figures beside it (<folder>-baseline.json) for the model registry")
    parser.add_argument("--model",
                        help="model folder or model.tar.gz to score beside the baseline; 'none' for the "
                             f"baseline alone (default: {DEFAULT_MODEL}, or none with --dataset)")
    parser.add_argument("--test", action="store_true",
                        help="also score the IMDb test split (final figures only, never for choosing)")
    parser.add_argument("--c", type=float, default=30.0, help="inverse regularisation of the baseline (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes scoring with the model (default: %(default)s)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.model is None:
        args.model = "none" if args.dataset else str(DEFAULT_MODEL)
    return args


def dataset_source(dataset_dir: str) -> dict:
    """The `source` block of a prepared folder's manifest: the source read, its review count and
    content hash, and the validation fraction and seed of the split."""
    manifest_path = Path(dataset_dir) / "manifest.json"
    try:
        source = json.loads(manifest_path.read_text(encoding="utf-8"))["source"]
        return {**source, "reviews": int(source["reviews"]), "seed": int(source["seed"]),
                "validation_fraction": float(source["validation_fraction"])}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SourceError(f"{manifest_path}: not a prepared dataset's manifest ({type(error).__name__}: "
                          f"{error}); run `sentiment prepare --out {dataset_dir}`") from None


def training_split(data: str, recorded: dict | None = None) -> tuple[list[Review], list[Review]]:
    """(training reviews, validation reviews) of `data`'s training reviews: prepare's default split,
    or the split a prepared folder records (dataset_source), after checking that the reviews are
    the ones it was prepared from."""
    reviews = load_reviews(data, "train", progress=False)
    if recorded is None:
        fraction, seed = VALIDATION_FRACTION, SPLIT_SEED
    else:
        fraction, seed = recorded["validation_fraction"], recorded["seed"]
        # prepare --limit keeps a seeded sample; the whole source is a sample of its own size.
        reviews = limit_reviews(reviews, recorded["reviews"], seed)
        if source_description(data, reviews)["content_sha256"] != recorded.get("content_sha256"):
            raise SourceError(f"{data}: not the reviews the dataset was prepared from (their content hash "
                              "differs from its manifest's); pass --data with the source `sentiment prepare` read")
    train_idx, validation_idx = split_validation(reviews, fraction, seed)
    return [reviews[i] for i in train_idx], [reviews[i] for i in validation_idx]


def registry_figures(report: dict) -> dict[str, float | None]:
    """The baseline's figures the model registry records beside the model's: accuracy and
    expected calibration error on the validation reviews, accuracy on their short snippets."""
    scored = report["baseline"]
    return {"validation_accuracy": scored["validation"]["accuracy"],
            "short_validation_accuracy": scored.get("short validation", {}).get("accuracy"),
            "calibration_error": scored["validation"]["expected_calibration_error"]}


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    recorded = dataset_source(args.dataset) if args.dataset else None
    data = args.data or (recorded["source"] if recorded else default_source())
    train, validation = training_split(data, recorded)
    sets = {"validation": validation}
    sets["short validation"] = short_snippets(sets["validation"])
    if args.test:
        sets["test"] = load_reviews(data, "test", progress=False)
    empty = [name for name, rows in sets.items() if not rows]  # e.g. no review of 3+ sentences
    sets = {name: rows for name, rows in sets.items() if rows}

    fit_started = time.perf_counter()
    baseline = Baseline(c=args.c).fit([r.text for r in train], [r.label for r in train])
    report = {"training_reviews": len(train), "baseline_fit_seconds": time.perf_counter() - fit_started,
              "sets": {name: {"reviews": len(rows)} for name, rows in sets.items()}, "empty_sets": empty}
    scores = {"baseline": {name: baseline.predict([r.text for r in rows]) for name, rows in sets.items()}}
    if args.model != "none":
        from sentiment.evaluation.scoring import score_all
        from sentiment_model.artifact import load_predictor

        predictor = load_predictor(resolve_model_dir(args.model))
        scores["model"] = {name: np.asarray(score_all(predictor, [r.text for r in rows], args.workers, progress=False))
                           for name, rows in sets.items()}
    for who, per_set in scores.items():
        report[who] = {name: figures(sets[name], values) for name, values in per_set.items()}
    if "short validation" in sets:
        full = {r.id: s for r, s in zip(sets["validation"], scores["baseline"]["validation"])}
        full.update({"snip:" + r.id: s for r, s in zip(sets["short validation"], scores["baseline"]["short validation"])})
        report["short_validation_label_noise_lower_bound"] = short_label_noise(sets["short validation"], full)
    report["seconds"] = time.perf_counter() - started
    return report


def format_report(report: dict) -> str:
    who = [w for w in ("model", "baseline") if w in report]
    lines = [f"fitted on {report['training_reviews']:,} training reviews; baseline fit "
             f"{report['baseline_fit_seconds']:.0f} s",
             f"{'set':<18}{'reviews':>8}" + "".join(f"{w:>10}" for w in who) + "   (accuracy)"]
    for name, info in report["sets"].items():
        lines.append(f"{name:<18}{info['reviews']:>8,}" + "".join(f"{report[w][name]['accuracy']:>10.4f}" for w in who))
        for bucket, _ in report[who[0]][name]["by_length"].items():
            counts = report[who[0]][name]["by_length"][bucket]["reviews"]
            if counts:
                lines.append(f"  {bucket + ' words':<16}{counts:>8,}" + "".join(
                    f"{report[w][name]['by_length'][bucket]['accuracy']:>10.4f}" for w in who))
    lines.append("expected calibration error (10 bins): " + ", ".join(
        f"{w} {name} {report[w][name]['expected_calibration_error']:.4f}" for w in who for name in report["sets"]))
    if "short_validation_label_noise_lower_bound" in report:
        lines.append(f"short validation label noise, lower bound: {report['short_validation_label_noise_lower_bound']:.3f}")
    lines += [f"{name}: no reviews (left out)" for name in report["empty_sets"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except (SourceError, ModelPathError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    if args.dataset:
        from sentiment.data.baseline_figures import write_baseline_figures
        from sentiment.packaging import tree_hash

        path = write_baseline_figures(
            args.dataset, dataset_hash=tree_hash(Path(args.dataset)), figures=registry_figures(report),
            details={"training_reviews": report["training_reviews"],
                     "sets": {name: info["reviews"] for name, info in report["sets"].items()},
                     "c": args.c, "seconds": round(report["seconds"], 1)})
        print(f"wrote {path}: the baseline's figures for the model registry")
    return 0
