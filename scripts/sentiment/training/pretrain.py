#!/usr/bin/env python3
"""Build the pretrained checkpoint that `sentiment train-default` (and the training job, through
its `pretrained` channel) fine-tunes: the LSTM part of the model, its word vectors learned from
co-occurrences in the training and unlabelled reviews, then trained on the training reviews and
their sentence windows, early-stopped on the validation reviews. No test review is read, and no
text built by rule: those are the fine-tuning's.

    sentiment pretrain --imdb ../shared/data/imdb          # writes models/pretrained

The stage is slow (about 25 minutes on the project's 2-core machine) and rarely rebuilt; the
checkpoint is committed, like published weights, with a README giving this command, the data
hashes, the time it took and its own held-out figures.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from sentiment.data.reviews import default_source
from sentiment.paths import ROOT
from sentiment.training.train_default import PREPARE_FLAGS, run
from sentiment_model.dataset import UNLABELLED_META, sha256_file, unlabelled_folder

# The pretraining stage: the recipe's LSTM (its epochs and learning rate), without the texts
# built by rule and without the n-gram parts, which the fine-tuning adds; its weights are chosen
# by validation loss, which keeps improving after the accuracy of 2,500 reviews stops telling
# epochs apart (an epoch-3 checkpoint kept by accuracy fine-tuned to a weaker model).
PRETRAIN_FLAGS = ["--rules", "false", "--ngram-order", "0", "--select-by", "loss", "--threads", "1"]
# The recipe fields the pretraining stage uses (the n-gram parts, the rules and the fine-tuning
# fields are the fine-tuning's), shown in the README.
PRETRAIN_RECIPE = ("embedding_dim", "hidden_dim", "num_layers", "bidirectional", "readout", "dropout", "word_dropout",
                   "word_vectors", "context_window", "windows", "epochs", "batch_size", "lr", "weight_decay",
                   "adversarial", "clip", "patience", "average_last", "seed")  # and select_by, a flag
KEPT = ("model.pt", "model_config.json", "vocab.json", "preprocessing.json", "metrics.json", "training_curve.png")


def recipe_flags() -> str:
    from sentiment_model.recipe import RECIPE

    return " ".join(f"--{name} {value}" for name, value in RECIPE.as_flags(PRETRAIN_RECIPE).items())


def write_readme(target: Path, imdb: str, manifest: dict, unlabelled: dict | None, metrics: dict,
                 timings: dict) -> None:
    history = "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.4f} | {h['validation_loss']:.4f} | {h['validation_accuracy']:.4f} "
        f"| {h['seconds']:.0f} |" for h in metrics["history"])
    files = "\n".join(f"| `{name}` | `{digest}` |" for name, digest in sorted(manifest["files"].items())
                      if not name.startswith(("train_rules", "validation_rules")))
    unlabelled_line = (f"and the {unlabelled['reviews']:,} unlabelled reviews (encoded ids sha256 "
                       f"`{unlabelled['ids_sha256']}`), for the word vectors only" if unlabelled
                       else "(no unlabelled reviews were available)")
    text = f"""# The pretrained checkpoint

The LSTM part of the sentiment model before fine-tuning: `sentiment train-default` starts from
these weights (`--pretrained-dir models/pretrained`), adds the texts built by rule, fits the n-gram
parts and the combining layer. The training job receives this folder as its `pretrained` channel.

## How it was made

```
sentiment pretrain --imdb {imdb}
```

which ran, on the project's 2-core machine:

| step | command flags | seconds |
| --- | --- | --- |
| prepare | `sentiment prepare {' '.join(PREPARE_FLAGS)} --rules false` | {timings['prepare']:.0f} |
| pretrain | `sentiment train {' '.join(PRETRAIN_FLAGS)}` (recipe: `{recipe_flags()}`) | {timings['pretrain']:.0f} |
| **whole stage** | | **{sum(timings.values()):.0f}** |

## Data

IMDb Large Movie Review Dataset (Maas et al., ACL 2011): the training split, of which
{manifest['splits']['train']['reviews']:,} reviews (and their sentence windows) were learned from and
{manifest['splits']['validation']['reviews']:,} held out for validation (seed {manifest['source']['seed']}),
{unlabelled_line}. No test review. Content sha256 of the source reviews
`{manifest['source']['content_sha256']}`.

| processed file | sha256 |
| --- | --- |
{files}

## Its own figures (the LSTM alone, on the held-out validation reviews)

| epoch | training loss | validation loss (BCE) | validation accuracy | seconds |
| --- | --- | --- | --- | --- |
{history}

Kept weights: {metrics['selected_weights']}, validation accuracy {metrics['validation_accuracy']:.4f}.
"""
    (target / "README.md").write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imdb", default=default_source(),
                        help="IMDb source with the train split and, ideally, the unlabelled reviews (default: %(default)s)")
    parser.add_argument("--work", default="build/pretrain", help="scratch folder (default: build/pretrain)")
    parser.add_argument("--target", default="models/pretrained",
                        help="where the checkpoint goes (default: models/pretrained)")
    args = parser.parse_args(argv)
    python = sys.executable
    work = ROOT / args.work
    shutil.rmtree(work, ignore_errors=True)
    timings = {}
    try:
        timings["prepare"] = run("prepare", [python, "-m", "sentiment", "prepare", "--source", args.imdb,
                                             "--out", str(work / "data"), "--quiet", "--rules", "false",
                                             *PREPARE_FLAGS])
        unlabelled = unlabelled_folder(work / "data")
        timings["pretrain"] = run("pretrain", [python, "-m", "sentiment", "train", "--data-dir", str(work / "data"),
                                               "--model-dir", str(work / "model"), "--output-data-dir",
                                               str(work / "output"), "--quiet", *PRETRAIN_FLAGS,
                                               *(["--unlabelled-dir", str(unlabelled)] if unlabelled.is_dir() else [])])
    except Exception as error:  # CalledProcessError: the step's own output already explains it
        print(f"error: {error}", file=sys.stderr)
        return 2
    target = ROOT / args.target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in KEPT:
        if (work / "model" / name).is_file():
            shutil.copy2(work / "model" / name, target / name)
    manifest = json.loads((work / "data" / "manifest.json").read_text())
    metrics = json.loads((target / "metrics.json").read_text())
    metrics["pretrain_seconds"] = {name: round(value, 1) for name, value in timings.items()}
    (target / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    meta = unlabelled / UNLABELLED_META
    unlabelled_figures = None
    if meta.is_file():
        unlabelled_figures = {**json.loads(meta.read_text()),
                              "ids_sha256": sha256_file(unlabelled / "unlabelled.ids.npy")}
    write_readme(target, args.imdb, manifest, unlabelled_figures, metrics, timings)
    print(f"pretraining stage {sum(timings.values()):.0f} s; validation accuracy (LSTM alone) "
          f"{metrics['validation_accuracy']:.4f}; wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
