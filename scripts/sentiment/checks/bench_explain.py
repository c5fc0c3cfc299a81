"""How far the word weights of model_code/sentiment_model/explain.py can be trusted, and what the uncertain band
means, for one model (re-run it after every retraining):

- faithfulness: on test reviews, deleting the --top words with the largest weight towards the
  predicted class lowers the probability of that class further than deleting as many words
  drawn at random (the mean of --draws draws) from the words the model read;
- quadrature: how closely the weights add up to the logit difference they explain, and their
  cost, for each number of points in --steps;
- the uncertain band (sentiment.contract.UNCERTAIN_BAND): the share of test reviews whose score
  falls in it, and the model's accuracy inside and outside it;
- with --captum, Captum's LayerIntegratedGradients beside the hand-written integrated gradients
  (same baseline, same quadrature): time per review and the largest difference in a weight.

All on one core, like sentiment bench-inference.

    sentiment bench-explain --model models/default --data ../shared/data/imdb
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

from sentiment.contract import UNCERTAIN_BAND
from sentiment.data.reviews import SourceError, default_source, read_reviews
from sentiment.models import ModelPathError, resolve_model_dir
from sentiment.stats import percentile


def spread(items: list, count: int) -> list:
    """count items evenly spaced through items (the test split is sorted by label)."""
    step = max(1, len(items) // count)
    return items[::step][:count]


def faithfulness(predictor, reviews: list[str], top: int, draws: int, seed: int) -> dict:
    from sentiment_model.explain import token_attributions
    from sentiment_model.preprocessing import UNKNOWN_ID

    rng = random.Random(seed)
    top_shifts, random_shifts, seconds = [], [], []
    for review in reviews:
        ids = predictor.encoder.encode(review)
        readable = [position for position, word_id in enumerate(ids) if word_id != UNKNOWN_ID]
        if len(readable) <= top:
            continue
        started = time.perf_counter()
        weights = token_attributions(predictor.model, ids)
        seconds.append(time.perf_counter() - started)
        probability = predictor.predict_ids([ids])[0]
        towards = 1 if probability >= 0.5 else -1  # the predicted class's side of the logit
        strongest = sorted(readable, key=lambda position: -towards * weights[position])[:top]
        removals = [strongest] + [rng.sample(readable, top) for _ in range(draws)]
        variants = [[word_id for position, word_id in enumerate(ids) if position not in removed]
                    for removed in map(set, removals)]
        scores = predictor.predict_ids(variants)
        # The drop in the probability of the predicted class.
        shifts = [towards * (probability - score) for score in scores]
        top_shifts.append(shifts[0])
        random_shifts.append(statistics.fmean(shifts[1:]))
    margins = [a - b for a, b in zip(top_shifts, random_shifts)]
    return {
        "reviews": len(margins),
        "top_mean": statistics.fmean(top_shifts), "random_mean": statistics.fmean(random_shifts),
        "top_median": statistics.median(top_shifts), "random_median": statistics.median(random_shifts),
        "margin": statistics.fmean(margins),
        # A normal interval for the mean of paired differences.
        "margin_ci": 1.96 * statistics.stdev(margins) / len(margins) ** 0.5,
        "wins": sum(m > 0 for m in margins) / len(margins),
        "ig_ms": statistics.median(seconds) * 1000,
    }


def quadrature_error(predictor, reviews: list[str], steps: int) -> dict:
    import torch

    from sentiment_model.explain import ngram_shares, token_attributions
    from sentiment_model.preprocessing import UNKNOWN_ID

    errors, seconds = [], []
    for review in reviews:
        ids = predictor.encoder.encode(review)
        tokens, lengths = torch.tensor([ids]), torch.tensor([len(ids)])
        with torch.no_grad():
            embedded = predictor.model.embedding(tokens)
            baseline = embedded * (tokens == UNKNOWN_ID).unsqueeze(2)
            difference = (predictor.model(tokens, lengths, packed=False)
                          - predictor.model(tokens, lengths, packed=False, embedded=baseline)).item()
        started = time.perf_counter()
        total = sum(token_attributions(predictor.model, ids, steps))
        seconds.append(time.perf_counter() - started)
        # The n-gram part's shares are exact; the quadrature is the integrated gradients' part.
        total -= float(ngram_shares(predictor.model, ids).sum())
        if abs(difference) > 1e-3:
            errors.append(abs(total - difference) / abs(difference))
    return {"median": statistics.median(errors), "p90": percentile(errors, 90),
            "ms": statistics.median(seconds) * 1000}


def band_accuracy(predictor, reviews) -> dict:
    low, high = UNCERTAIN_BAND
    scores = predictor.predict([review.text for review in reviews])
    inside = [(score >= 0.5) == bool(review.label) for score, review in zip(scores, reviews) if low <= score <= high]
    outside = [(score >= 0.5) == bool(review.label) for score, review in zip(scores, reviews) if not low <= score <= high]
    return {"reviews": len(reviews), "inside": len(inside), "inside_accuracy": statistics.fmean(inside) if inside else float("nan"),
            "outside_accuracy": statistics.fmean(outside)}


def captum_comparison(predictor, reviews: list[str], steps: int) -> dict:
    import torch
    from captum.attr import LayerIntegratedGradients

    from sentiment_model.explain import ngram_shares, token_attributions
    from sentiment_model.preprocessing import PAD_ID, UNKNOWN_ID

    model = predictor.model

    def forward(ids):
        return model(ids, torch.full((ids.shape[0],), ids.shape[1]), packed=False)

    attribution = LayerIntegratedGradients(forward, model.embedding)
    ours, theirs, differences = [], [], []
    for review in reviews:
        ids = predictor.encoder.encode(review)
        tokens = torch.tensor([ids])
        # Padding ids for the words the model knows: their embedding is the zero vector.
        baseline = torch.where(tokens == UNKNOWN_ID, tokens, torch.full_like(tokens, PAD_ID))
        started = time.perf_counter()
        captum_weights = attribution.attribute(tokens, baselines=baseline, n_steps=steps,
                                               method="gausslegendre").sum(dim=2)[0]
        theirs.append(time.perf_counter() - started)
        started = time.perf_counter()
        weights = torch.tensor(token_attributions(model, ids, steps))
        ours.append(time.perf_counter() - started)
        # Captum's layer attribution sees the embeddings only: compare the integrated gradients.
        weights = weights - ngram_shares(model, ids)
        differences.append(float((captum_weights - weights).abs().max()))
    import_seconds = []
    for module in ("torch", "captum.attr"):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        import_seconds.append(time.perf_counter() - started)
    import captum

    return {"version": captum.__version__, "captum_ms": statistics.median(theirs) * 1000,
            "ours_ms": statistics.median(ours) * 1000, "max_difference": max(differences),
            "import_s": import_seconds[1] - import_seconds[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default", help="model directory or model.tar.gz (default: %(default)s)")
    parser.add_argument("--data", default=default_source(),
                        help="IMDb reviews with a test split, in any form sentiment prepare reads (default: %(default)s)")
    parser.add_argument("--reviews", type=int, default=500, help="test reviews for faithfulness (default: 500)")
    parser.add_argument("--top", type=int, default=5, help="words deleted from each review (default: 5)")
    parser.add_argument("--draws", type=int, default=10, help="random deletions averaged per review (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random deletions (default: 0)")
    parser.add_argument("--steps", default="8,16,32", help="quadrature points to compare, comma-separated (default: 8,16,32)")
    parser.add_argument("--quadrature-reviews", type=int, default=100,
                        help="test reviews for the quadrature comparison (default: 100)")
    parser.add_argument("--band-reviews", type=int, default=25000,
                        help="test reviews for the uncertain band's figures (default: 25000, the whole split)")
    parser.add_argument("--captum", action="store_true", help="also compare with Captum (must be installed)")
    args = parser.parse_args(argv)
    try:
        steps = [int(value) for value in args.steps.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--steps must be whole numbers separated by commas, got {args.steps!r}")
    try:
        model_dir = resolve_model_dir(args.model)
        test = read_reviews(args.data, "test")
    except (ModelPathError, SourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not any(review.label is not None for review in test):
        print(f"error: {args.data}: the test reviews have no labels", file=sys.stderr)
        return 2
    import torch

    from sentiment_model.artifact import load_predictor

    torch.set_num_threads(1)
    predictor = load_predictor(model_dir)
    texts = [review.text for review in test]

    found = faithfulness(predictor, spread(texts, args.reviews), args.top, args.draws, args.seed)
    print(f"faithfulness, {found['reviews']} test reviews: drop in the probability of the predicted class")
    print(f"  {'deleting the ' + str(args.top) + ' words weighing most towards it':<48} mean {found['top_mean']:.4f}   "
          f"median {found['top_median']:.4f}")
    print(f"  {'deleting ' + str(args.top) + ' random words it read, ' + str(args.draws) + ' draws':<48} "
          f"mean {found['random_mean']:.4f}   median {found['random_median']:.4f}")
    print(f"  margin {found['margin']:.4f} (95% interval +/- {found['margin_ci']:.4f}); "
          f"top words moved it further in {found['wins']:.1%} of reviews")

    print(f"quadrature, {args.quadrature_reviews} test reviews: |sum of weights - logit difference| / |logit difference|")
    for count in steps:
        error = quadrature_error(predictor, spread(texts, args.quadrature_reviews), count)
        print(f"  {count:3d} points   median {error['median']:.2%}   p90 {error['p90']:.2%}   "
              f"{error['ms']:.1f} ms per review (median)")

    band = band_accuracy(predictor, spread(test, args.band_reviews))
    low, high = UNCERTAIN_BAND
    print(f"uncertain band {low:.2f}-{high:.2f}, {band['reviews']} test reviews: {band['inside']} inside "
          f"({band['inside'] / band['reviews']:.1%}), accuracy {band['inside_accuracy']:.3f} inside, "
          f"{band['outside_accuracy']:.3f} outside")

    if args.captum:
        try:
            compared = captum_comparison(predictor, spread(texts, args.quadrature_reviews), 16)
        except ImportError:
            print("error: --captum needs Captum installed (pip install captum)", file=sys.stderr)
            return 2
        print(f"Captum {compared['version']} LayerIntegratedGradients, 16 points, {args.quadrature_reviews} reviews: "
              f"{compared['captum_ms']:.1f} ms per review against {compared['ours_ms']:.1f} ms; largest weight "
              f"difference {compared['max_difference']:.2e}; import captum.attr adds {compared['import_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
