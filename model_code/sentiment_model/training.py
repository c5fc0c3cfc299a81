"""Train the sentiment LSTM on a processed dataset folder (`sentiment prepare`).

SageMaker runs it as the training entry point: hyperparameters arrive as flags (booleans as
`--flag True`), and SM_CHANNEL_TRAINING, SM_CHANNEL_UNLABELLED, SM_MODEL_DIR and
SM_OUTPUT_DATA_DIR give the default paths. A failure's one-line reason goes to
$SM_OUTPUT_DIR/failure, which SageMaker shows as the job's FailureReason. Locally:

    sentiment train --data-dir data/processed --unlabelled-dir data/processed-unlabelled --model-dir build/model

Steps: word vectors from co-occurrences in the training and unlabelled reviews; the LSTM, trained
on the training reviews and their sentence windows, early-stopped on validation; the n-gram
part (ngrams.py) fitted on the same training texts; the layer that combines the two, fitted on
the validation reviews and snippets; figures of each part and of the whole on validation.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentiment_model.artifact import write_model_dir
from sentiment_model.dataset import DatasetError, EncodedSplit, load_dataset, load_unlabelled
from sentiment_model.network import LengthAwareCombiner, ModelConfig, SentimentLSTM, pad_batch
from sentiment_model.ngrams import fit_ngram_scorer
from sentiment_model.preprocessing import TextSettings
from sentiment_model.recipe import RECIPE
from sentiment_model.sagemaker_job import ArgumentParser, EpochProgress, add_switch, flag, write_failure
from sentiment_model.word_vectors import cooccurrence_vectors


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    paths = parser.add_argument_group("paths (SageMaker sets the environment variables)")
    paths.add_argument("--data-dir", default=env("SM_CHANNEL_TRAINING", "data/processed"),
                       help="processed dataset folder (default: $SM_CHANNEL_TRAINING or data/processed)")
    paths.add_argument("--unlabelled-dir", default=env("SM_CHANNEL_UNLABELLED"),
                       help="encoded unlabelled reviews for the word vectors, from `sentiment prepare` "
                            "(default: $SM_CHANNEL_UNLABELLED, or none)")
    paths.add_argument("--model-dir", default=env("SM_MODEL_DIR", "build/model"),
                       help="where the model directory is written (default: $SM_MODEL_DIR or build/model)")
    paths.add_argument("--output-data-dir", default=env("SM_OUTPUT_DATA_DIR", "build/output"),
                       help="extra outputs: metrics and plot copies (default: $SM_OUTPUT_DATA_DIR or build/output)")
    model = parser.add_argument_group("model")
    model.add_argument("--embedding-dim", type=int, default=RECIPE.embedding_dim, help="word embedding size (default: %(default)s)")
    model.add_argument("--hidden-dim", type=int, default=RECIPE.hidden_dim, help="LSTM hidden size per direction (default: %(default)s)")
    model.add_argument("--num-layers", type=int, default=1, help="stacked LSTM layers (default: 1)")
    model.add_argument("--bidirectional", type=flag, default=True, help="read both directions (default: true)")
    model.add_argument("--readout", choices=("pool", "last"), default="pool",
                       help="'pool': max+mean over steps plus final states; 'last': final states (default: pool)")
    model.add_argument("--dropout", type=float, default=RECIPE.dropout, help="dropout before the classifier (default: %(default)s)")
    model.add_argument("--word-dropout", type=float, default=RECIPE.word_dropout,
                       help="share of whole words hidden at each training step (default: %(default)s)")
    model.add_argument("--ngram-order", type=int, default=RECIPE.ngram_order,
                       help="longest n-gram of the NB-weighted n-gram part, 0 = LSTM alone (default: %(default)s)")
    model.add_argument("--ngram-min-count", type=int, default=RECIPE.ngram_min_count,
                       help="n-grams kept: those in at least this many training texts (default: %(default)s)")
    model.add_argument("--ngram-l2", type=float, default=RECIPE.ngram_l2,
                       help="L2 penalty of the n-gram part's logistic regression (default: %(default)s)")
    model.add_argument("--short-ngrams", type=flag, default=RECIPE.short_ngrams,
                       help="add the short-text n-gram part, fitted on the sentence windows alone "
                            "(needs --windows and a validation split; default: %(default)s)")
    model.add_argument("--short-ngram-min-count", type=int, default=RECIPE.short_ngram_min_count,
                       help="n-grams the short-text part keeps: those in at least this many windows "
                            "(default: %(default)s)")
    model.add_argument("--short-ngram-l2", type=float, default=RECIPE.short_ngram_l2,
                       help="L2 penalty of the short-text n-gram part (default: %(default)s)")
    model.add_argument("--word-vectors", choices=("ppmi", "random"), default=RECIPE.word_vectors,
                       help="embedding start: 'ppmi', vectors from word co-occurrences in the training "
                            "reviews (model_code/word_vectors.py), or 'random' (default: %(default)s)")
    model.add_argument("--context-window", type=int, default=RECIPE.context_window,
                       help="words either side counted as context for --word-vectors ppmi (default: %(default)s)")
    fit = parser.add_argument_group("training")
    fit.add_argument("--windows", type=flag, default=RECIPE.windows,
                     help="also learn from the sentence windows of the training reviews (train_windows), "
                          "for short texts (default: %(default)s)")
    fit.add_argument("--epochs", type=int, default=RECIPE.epochs, help="maximum epochs (default: %(default)s)")
    fit.add_argument("--batch-size", type=int, default=RECIPE.batch_size, help="reviews per step (default: %(default)s)")
    fit.add_argument("--lr", type=float, default=RECIPE.lr, help="peak Adam learning rate (default: %(default)s)")
    fit.add_argument("--weight-decay", type=float, default=RECIPE.weight_decay, help="AdamW weight decay (default: %(default)s)")
    fit.add_argument("--adversarial", type=float, default=RECIPE.adversarial,
                     help="adversarial training: also learn each batch with its embeddings moved this far "
                          "(L2 norm per review) in the direction that raises the loss; costs a second "
                          "forward and backward pass per batch, 0 = off (default: %(default)s)")
    fit.add_argument("--clip", type=float, default=RECIPE.clip, help="gradient norm clip (default: %(default)s)")
    fit.add_argument("--patience", type=int, default=RECIPE.patience,
                     help="stop after this many epochs without a better validation accuracy (default: %(default)s)")
    fit.add_argument("--average-last", type=int, default=RECIPE.average_last,
                     help="also try the average of the last N epochs' weights and keep it if it scores "
                          "better on validation, 0 = off (default: %(default)s)")
    fit.add_argument("--max-minutes", type=float, default=0,
                     help="stop after the epoch that passes this wall-clock budget, 0 = none (default: 0)")
    add_switch(fit, "--fit-all",
               help="train on the training and validation reviews together, for a final model once "
                    "the recipe has been chosen on validation: runs every epoch and keeps the last "
                    "(the mean of the last --average-last epochs if that is above 1); no validation "
                    "figures, since nothing is held out")
    fit.add_argument("--seed", type=int, default=RECIPE.seed, help="random seed (default: %(default)s)")
    fit.add_argument("--threads", type=int, default=0, help="torch CPU threads, 0 = all cores (default: 0)")
    add_switch(fit, "--dry-run", help="seconds-long smoke run: one epoch of at most 3 batches")
    add_switch(fit, "--quiet", help="no progress within an epoch (a bar on a terminal, else a line "
                                    "per tenth of the epoch)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "embedding_dim", "hidden_dim", "num_layers", "context_window",
                 "ngram_min_count", "short_ngram_min_count"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 <= args.ngram_order <= 3:
        parser.error("--ngram-order must be 0 (no n-gram part), 1, 2 or 3")
    if args.adversarial < 0:
        parser.error("--adversarial must be 0 (off) or more")
    for name in ("dropout", "word_dropout"):
        if not 0 <= getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1)")
    return args


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_bucketed_batches(split: EncodedSplit, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of reviews of similar length, so packed sequences waste little work."""
    order = list(range(len(split)))
    rng.shuffle(order)
    lengths = split.lengths()
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start: start + pool], key=lambda i: lengths[i])
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def concatenate(first: EncodedSplit, second: EncodedSplit) -> EncodedSplit:
    """One split holding the reviews of both, first's then second's."""
    offsets = np.concatenate([first.offsets, second.offsets[1:] + first.offsets[-1]])
    return EncodedSplit(ids=np.concatenate([first.ids, second.ids]), offsets=offsets,
                        labels=np.concatenate([first.labels, second.labels]))


def batch_loss(model: SentimentLSTM, loss_fn, ids, lengths, labels) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model.lstm_logits(ids, lengths)
    return logits, loss_fn(logits, labels)


@contextlib.contextmanager
def embedding_hook(model: SentimentLSTM, capture: bool = False, shift: torch.Tensor | None = None):
    """While active, the embedding layer's output is kept (with its gradient) in the yielded dict
    when capture is set, and has `shift` added to it when given."""
    kept: dict[str, torch.Tensor] = {}

    def hook(module, inputs, output):
        if shift is not None:
            output = output + shift
        if capture:
            output.retain_grad()
            kept["output"] = output
        return output

    handle = model.embedding.register_forward_hook(hook) if (capture or shift is not None) else None
    try:
        yield kept
    finally:
        if handle is not None:
            handle.remove()


def tensors(split: EncodedSplit, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ids, lengths = pad_batch([split.review(i).tolist() for i in indices])
    return ids, lengths, torch.as_tensor(split.labels[indices], dtype=torch.float32)


@torch.no_grad()
def evaluate(model: SentimentLSTM, split: EncodedSplit, batch_size: int = 256) -> dict:
    model.eval()
    order = sorted(range(len(split)), key=lambda i: split.offsets[i + 1] - split.offsets[i])
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    total_loss, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        ids, lengths, labels = tensors(split, order[start: start + batch_size])
        logits = model(ids, lengths)
        total_loss += loss_fn(logits, labels).item()
        correct += int(((logits > 0).float() == labels).sum())
    return {"loss": total_loss / len(split), "accuracy": correct / len(split)}


PART_NAMES = ("lstm", "ngrams", "short_ngrams")


@torch.no_grad()
def part_logits(model: SentimentLSTM, split: EncodedSplit, batch_size: int = 256):
    """Each text's logit from every part of the model (LSTM, n-grams[, short-text n-grams]), its
    length and its label, in the split's order."""
    model.eval()
    parts = torch.zeros(1 + len(model.ngram_scorers()), len(split))
    order = sorted(range(len(split)), key=lambda i: split.offsets[i + 1] - split.offsets[i])
    for start in range(0, len(order), batch_size):
        chunk = order[start: start + batch_size]
        ids, lengths, _ = tensors(split, chunk)
        parts[:, chunk] = torch.stack([model.lstm_logits(ids, lengths), *model.ngram_logits(ids, lengths)])
    return list(parts), torch.as_tensor(split.lengths()), torch.as_tensor(split.labels, dtype=torch.float32)


def add_ngram_part(model: SentimentLSTM, fit_on: EncodedSplit, short_fit_on: EncodedSplit | None,
                   held_out: dict[str, EncodedSplit], args) -> dict:
    """Fits the n-gram part on the training texts, the short-text n-gram part on the sentence
    windows (where there are windows and held-out texts to combine it on), and the combining
    layer on the held-out texts; returns each part's accuracy alone and the whole's per held-out split."""
    def fit(split: EncodedSplit, min_count: int, l2: float):
        return fit_ngram_scorer(split.ids, split.offsets, split.labels, model.config.vocab_size,
                                order=args.ngram_order, min_count=min_count, l2=l2,
                                iterations=3 if args.dry_run else 60, log=lambda m: print(m, flush=True))

    scorer = fit(fit_on, args.ngram_min_count, args.ngram_l2)
    short_scorer = None
    if args.short_ngrams and short_fit_on is not None and len(short_fit_on) and held_out:
        print("short-text n-gram part, on the sentence windows:", flush=True)
        short_scorer = fit(short_fit_on, args.short_ngram_min_count, args.short_ngram_l2)
    model.attach_ngrams(scorer, LengthAwareCombiner(parts=2 if short_scorer is None else 3), short_scorer)
    if not held_out:
        print("combining layer: nothing held out, the two logits are added", flush=True)
        return {}
    parts = {name: part_logits(model, split) for name, split in held_out.items()}
    logits = [torch.cat(part) for part in zip(*(p[0] for p in parts.values()))]
    lengths, labels = (torch.cat([p[i] for p in parts.values()]) for i in (1, 2))
    loss = model.combiner.fit(logits, lengths, labels)
    print(f"combining layer: {[round(c, 3) for c in model.combiner.coefficients.tolist()]}, "
          f"held-out loss {loss:.4f}", flush=True)
    figures = {}
    for name, (logits, lengths, labels) in parts.items():
        with torch.no_grad():
            whole = model.combiner(logits, lengths)
        figures[name] = {part: float(((values > 0).float() == labels).float().mean())
                         for part, values in [*zip(PART_NAMES, logits), ("model", whole)]}
        figures[name]["reviews"] = len(labels)
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures[name].items() if k != "reviews"),
              flush=True)
    return figures


def plot_curve(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="training")
    held_out = [h for h in history if h["validation_loss"] is not None]
    if held_out:
        loss_ax.plot([h["epoch"] for h in held_out], [h["validation_loss"] for h in held_out], marker="o",
                     label="validation")
    loss_ax.set(xlabel="epoch", ylabel="BCE loss", title="Loss")
    loss_ax.legend()
    acc_ax.plot(epochs, [h["train_accuracy"] for h in history], marker="o", label="training")
    if held_out:
        acc_ax.plot([h["epoch"] for h in held_out], [h["validation_accuracy"] for h in held_out], marker="o",
                    label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    acc_ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def train(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    # Load data ---------------------------------------------------------------------------
    splits, vocabulary, settings_json, manifest = load_dataset(Path(args.data_dir))
    settings = TextSettings.from_json(settings_json)
    train_split, validation_split = splits["train"], splits["validation"]
    short_split = splits.get("validation_short")
    texts_split = train_split  # the reviews whose words the word vectors are learned from
    if args.fit_all:
        train_split = concatenate(train_split, validation_split)
        texts_split = train_split
        validation_split, short_split = None, None
        print("fitting on training + validation reviews: every epoch runs, nothing is held out", flush=True)
    if args.windows:
        if "train_windows" not in splits:
            raise DatasetError(f"{args.data_dir}: no train_windows split for --windows; prepare it again "
                               "with this version of `sentiment prepare`, or pass --windows false")
        train_split = concatenate(train_split, splits["train_windows"])
    unlabelled = load_unlabelled(Path(args.unlabelled_dir), manifest) if args.unlabelled_dir else None
    print(f"data: {len(train_split)} training texts, {len(validation_split or [])} validation reviews, "
          f"{len(short_split or [])} validation snippets, {len(unlabelled or [])} unlabelled reviews, "
          f"vocabulary {len(vocabulary) + 2}, text mode {settings.mode}", flush=True)

    # Build model -------------------------------------------------------------------------
    config = ModelConfig(
        vocab_size=len(vocabulary) + 2, embedding_dim=args.embedding_dim, hidden_dim=args.hidden_dim,
        num_layers=args.num_layers, bidirectional=args.bidirectional, dropout=args.dropout,
        word_dropout=args.word_dropout,
        readout=args.readout)
    model = SentimentLSTM(config)
    if args.word_vectors == "ppmi":
        vectors_started = time.perf_counter()
        corpus = texts_split if unlabelled is None else concatenate(texts_split, unlabelled)
        vectors = cooccurrence_vectors(corpus.ids, corpus.offsets, config.vocab_size,
                                       config.embedding_dim, window=args.context_window, seed=args.seed)
        seen_words = vectors.norm(dim=1) > 0
        with torch.no_grad():
            model.embedding.weight[seen_words] = vectors[seen_words]
        print(f"word vectors: {int(seen_words.sum()):,} words from co-occurrences in {len(corpus):,} reviews "
              f"in {time.perf_counter() - vectors_started:.0f} s", flush=True)
    print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, {asdict(config)}", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    rng = random.Random(args.seed)
    epochs = 1 if args.dry_run else args.epochs
    steps_per_epoch = math.ceil(len(train_split) / args.batch_size)
    if args.dry_run:
        steps_per_epoch = min(steps_per_epoch, 3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)

    # Train -------------------------------------------------------------------------------
    history: list[dict] = []
    recent_states: list[dict] = []
    best_state, best_accuracy, best_epoch, stale = None, -1.0, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_started = time.perf_counter()
        batches = length_bucketed_batches(train_split, args.batch_size, rng)[:steps_per_epoch]
        loss_sum, correct, seen = 0.0, 0, 0
        progress = EpochProgress(len(batches), f"epoch {epoch}/{epochs}", quiet=args.quiet)
        for indices in batches:
            ids, lengths, labels = tensors(train_split, indices)
            optimizer.zero_grad(set_to_none=True)
            with embedding_hook(model, capture=bool(args.adversarial)) as embedded:
                logits, loss = batch_loss(model, loss_fn, ids, lengths, labels)
                loss.backward()
            if args.adversarial:
                # Adversarial training (Miyato, Dai and Goodfellow, ICLR 2017): the same batch
                # again with its embeddings pushed a small step in the direction that raises the
                # loss most, so the model learns to keep its answer under small changes of the
                # words' vectors. The step is eps in L2 norm per review.
                gradient = embedded["output"].grad.detach()
                norms = gradient.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)
                with embedding_hook(model, shift=args.adversarial * gradient / norms):
                    batch_loss(model, loss_fn, ids, lengths, labels)[1].backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(indices)
            correct += int(((logits.detach() > 0).float() == labels).sum())
            seen += len(indices)
            progress.step(loss_sum / seen)
        progress.close()
        validation = evaluate(model, validation_split) if validation_split else {"loss": None, "accuracy": None}
        record = {
            "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
            "validation_loss": validation["loss"], "validation_accuracy": validation["accuracy"],
            "seconds": round(time.perf_counter() - epoch_started, 1),
        }
        history.append(record)
        if args.average_last > 1:
            recent_states = (recent_states + [copy.deepcopy(model.state_dict())])[-args.average_last:]
        held_out = (f"validation loss {record['validation_loss']:.4f} acc {record['validation_accuracy']:.4f}"
                    if validation_split else "nothing held out")
        print(f"epoch {epoch}: train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f} | "
              f"{held_out} | {record['seconds']:.0f} s", flush=True)
        if validation_split is None:
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch
        elif validation["accuracy"] > best_accuracy:
            best_state, best_accuracy, best_epoch, stale = copy.deepcopy(model.state_dict()), validation["accuracy"], epoch, 0
        else:
            stale += 1
            if stale >= args.patience:
                print(f"early stop: no better validation accuracy for {stale} epochs", flush=True)
                break
        if args.max_minutes and time.perf_counter() - started > args.max_minutes * 60:
            print(f"stopping: the {args.max_minutes} minute budget is spent", flush=True)
            break

    # Weight averaging: epochs near the end of the one-cycle schedule sit close together, and
    # their mean often generalises better than any one of them.
    averaged = None
    selected = f"epoch {best_epoch}"
    if len(recent_states) > 1:
        mean_state = {name: sum(state[name].float() for state in recent_states) / len(recent_states)
                      for name in recent_states[0]}
        mean_label = f"average of epochs {history[-1]['epoch'] - len(recent_states) + 1}-{history[-1]['epoch']}"
        if validation_split is None:
            best_state, selected = mean_state, mean_label
        else:
            model.load_state_dict(mean_state)
            averaged = evaluate(model, validation_split)
            print(f"average of the last {len(recent_states)} epochs: validation acc {averaged['accuracy']:.4f}",
                  flush=True)
            if averaged["accuracy"] > best_accuracy:
                best_state, best_accuracy, selected = mean_state, averaged["accuracy"], mean_label

    model.load_state_dict(best_state)

    # The n-gram part and the combining layer -----------------------------------------------
    held_out = {name: split for name, split in (("validation", validation_split), ("validation_short", short_split))
                if split is not None and len(split)}
    parts = {}
    if args.ngram_order:
        parts = add_ngram_part(model, train_split, splits.get("train_windows") if args.windows else None,
                               held_out, args)
        if validation_split is not None:
            best_accuracy = parts["validation"]["model"]

    # Save --------------------------------------------------------------------------------
    metrics = {
        "best_epoch": best_epoch,
        "selected_weights": selected,
        "validation_accuracy": best_accuracy if validation_split else None,
        "fit_on_validation_reviews": bool(args.fit_all),
        "averaged_validation_accuracy": averaged["accuracy"] if averaged else None,
        "validation_by_part": parts,
        "validation_short_accuracy": parts.get("validation_short", {}).get("model"),
        "history": history,
        "training_seconds": round(time.perf_counter() - started, 1),
        "hyperparameters": {k: v for k, v in vars(args).items() if not k.endswith("_dir")},
        "dataset": {"splits": manifest["splits"], "source": manifest["source"], "files": manifest["files"]},
    }
    model_dir = Path(args.model_dir)
    # The model folder of a training job is what SageMaker archives and serves: code/ goes in.
    write_model_dir(model_dir, model, vocabulary, settings, metrics, with_code=True)
    plot_curve(history, model_dir / "training_curve.png")
    output_dir = Path(args.output_data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_curve(history, output_dir / "training_curve.png")
    kept = f"validation accuracy {best_accuracy:.4f}" if validation_split else "trained on every review"
    print(f"{kept} ({selected}); "
          f"model written to {model_dir} in {metrics['training_seconds']:.0f} s", flush=True)
    return metrics


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        write_failure(str(error))
        return 2
    except Exception as error:  # the traceback goes to the log; the job's reason is one line
        write_failure(f"training failed: {type(error).__name__}: {error}")
        raise
    return 0
