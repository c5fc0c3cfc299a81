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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentiment_model.artifact import write_model_dir
from sentiment_model.calibration import expected_calibration_error
from sentiment_model.dataset import DatasetError, EncodedSplit, load_dataset, load_unlabelled
from sentiment_model.network import LSTM_FIELDS, LengthAwareCombiner, ModelConfig, SentimentLSTM, pad_batch
from sentiment_model.ngrams import fit_ngram_scorer
from sentiment_model.preprocessing import TextSettings
from sentiment_model.recipe import FIELDS, Recipe, bound_problem, flag_name
from sentiment_model.sagemaker_job import ArgumentParser, EpochProgress, add_switch, flag, write_failure
from sentiment_model.word_vectors import cooccurrence_vectors


def add_recipe_flags(group, section: str) -> None:
    """A flag per recipe field of the section ("model" or "training"), with the field's type,
    choices, help and default; a boolean takes a value (`--windows false`), as the SageMaker
    training toolkit renders one (`--windows True`)."""
    for name, spec in FIELDS.items():
        if spec.metadata["section"] != section:
            continue
        kind = type(spec.default)
        shape = ({"choices": spec.metadata["choices"]} if spec.metadata["choices"]
                 else {"type": flag if kind is bool else kind})
        group.add_argument(f"--{flag_name(name)}", default=spec.default, **shape,
                           help=f"{spec.metadata['help']} (default: %(default)s)")


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    paths = parser.add_argument_group("paths (SageMaker sets the environment variables)")
    paths.add_argument("--data-dir", default=env("SM_CHANNEL_TRAINING", "data/processed"),
                       help="processed dataset folder (default: $SM_CHANNEL_TRAINING or data/processed)")
    paths.add_argument("--unlabelled-dir", default=env("SM_CHANNEL_UNLABELLED"),
                       help="encoded unlabelled reviews for the word vectors, from `sentiment prepare` "
                            "(default: $SM_CHANNEL_UNLABELLED, or none)")
    paths.add_argument("--pretrained-dir", default=env("SM_CHANNEL_PRETRAINED"),
                       help="a pretrained checkpoint (a model folder written by `sentiment pretrain`) to fine-tune "
                            "instead of starting the LSTM from word vectors; its vocabulary must be the "
                            "dataset's (default: $SM_CHANNEL_PRETRAINED, or none)")
    paths.add_argument("--model-dir", default=env("SM_MODEL_DIR", "build/model"),
                       help="where the model directory is written (default: $SM_MODEL_DIR or build/model)")
    paths.add_argument("--output-data-dir", default=env("SM_OUTPUT_DATA_DIR", "build/output"),
                       help="extra outputs: metrics and plot copies (default: $SM_OUTPUT_DATA_DIR or build/output)")
    add_recipe_flags(parser.add_argument_group("model (the recipe: sentiment_model/recipe.py)"), "model")
    add_recipe_flags(parser.add_argument_group("training (the recipe: sentiment_model/recipe.py)"), "training")
    run = parser.add_argument_group("this run")
    run.add_argument("--max-minutes", type=float, default=0,
                     help="stop after the epoch that passes this wall-clock budget, 0 = none (default: 0)")
    add_switch(run, "--fit-all",
               help="train on the training and validation reviews together, for a final model once "
                    "the recipe has been chosen on validation: runs every epoch and keeps the last "
                    "(the mean of the last --average-last epochs if that is above 1); no validation "
                    "figures, since nothing is held out")
    add_switch(run, "--pretrain-first",
               help="without --pretrained-dir: first run the pretraining stage here (the LSTM from word "
                    "vectors on the reviews and windows, --epochs at --lr, as `sentiment pretrain` does), "
                    "then fine-tune from it (--finetune-epochs at --finetune-lr)")
    run.add_argument("--threads", type=int, default=0, help="torch CPU threads, 0 = all cores (default: 0)")
    add_switch(run, "--dry-run", help="seconds-long smoke run: one epoch of at most 3 batches")
    add_switch(run, "--quiet", help="no progress within an epoch (a bar on a terminal, else a line "
                                    "per tenth of the epoch)")
    args = parser.parse_args(argv)
    for name in FIELDS:
        problem = bound_problem(name, getattr(args, name))
        if problem:
            parser.error(f"--{flag_name(name)} {problem}")
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
    """Fits the n-gram part on the training reviews and windows, the short-text n-gram part on
    the short texts, windows and texts built by rule (where there are some, and held-out texts
    to combine it on), and the combining layer on the held-out texts; returns each part's
    accuracy alone and the whole's per held-out split."""
    def fit(split: EncodedSplit, min_count: int, l2: float):
        return fit_ngram_scorer(split.ids, split.offsets, split.labels, model.config.vocab_size,
                                order=args.ngram_order, min_count=min_count, l2=l2,
                                iterations=3 if args.dry_run else 60, log=lambda m: print(m, flush=True))

    scorer = fit(fit_on, args.ngram_min_count, args.ngram_l2)
    short_scorer = None
    if args.short_ngrams and short_fit_on is not None and len(short_fit_on) and held_out:
        print("short-text n-gram part, on the short texts (windows and texts built by rule):", flush=True)
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
        figures[name]["calibration_error"] = expected_calibration_error(labels.numpy(), torch.sigmoid(whole).numpy())
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


@dataclass
class TrainingData:
    """What training reads, shaped by --fit-all and --windows."""
    train: EncodedSplit  # what the LSTM learns from: reviews, windows, texts built by rule (repeated)
    ngram_texts: EncodedSplit  # what the n-gram part is fitted on: the reviews and their windows
    validation: EncodedSplit | None  # held-out reviews: early stopping and the combining layer
    validation_short: EncodedSplit | None  # held-out snippets, for the combining layer
    windows: EncodedSplit | None  # the short texts the short-text n-gram part is fitted on (rules once)
    validation_rules: EncodedSplit | None  # held-out texts built by rule, for the combining layer
    word_texts: EncodedSplit  # the reviews whose words the word vectors are learned from
    unlabelled: EncodedSplit | None
    vocabulary: list
    settings: TextSettings
    manifest: dict


def load_training_data(args: argparse.Namespace, rules: bool | None = None) -> TrainingData:
    splits, vocabulary, settings_json, manifest = load_dataset(Path(args.data_dir))
    train_split, validation_split = splits["train"], splits["validation"]
    short_split = splits.get("validation_short")
    if args.fit_all:
        train_split = concatenate(train_split, validation_split)
        validation_split, short_split = None, None
        print("fitting on training + validation reviews: every epoch runs, nothing is held out", flush=True)
    word_texts = train_split
    windows = None
    if args.windows:
        if "train_windows" not in splits:
            raise DatasetError(f"{args.data_dir}: no train_windows split for --windows; prepare it again "
                               "with this version of `sentiment prepare`, or pass --windows false")
        windows = splits["train_windows"]
    # The texts built by rule are short, like the windows, and learnt beside them; datasets
    # prepared before them (or with --rules false) have none, and training goes on without.
    # The n-gram part, a bag of n-grams, cannot tell which clause of a contrast decides, so it
    # leaves them to the LSTM and the short-text part.
    validation_rules = None
    ngram_texts = train_split if windows is None else concatenate(train_split, windows)
    train_split = ngram_texts
    rules = args.rules if rules is None else rules
    if rules and "train_rules" in splits:
        built = splits["train_rules"]
        validation_rules = splits.get("validation_rules")
        if args.fit_all and validation_rules is not None:
            built, validation_rules = concatenate(built, validation_rules), None
        windows = built if windows is None else concatenate(windows, built)
        for _ in range(args.rules_repeat):
            train_split = concatenate(train_split, built)
    elif rules:
        print(f"{args.data_dir}: no train_rules split; training without texts built by rule", flush=True)
    data = TrainingData(
        train=train_split, ngram_texts=ngram_texts, validation=validation_split, validation_short=short_split,
        windows=windows, validation_rules=validation_rules, word_texts=word_texts,
        unlabelled=load_unlabelled(Path(args.unlabelled_dir), manifest) if args.unlabelled_dir else None,
        vocabulary=vocabulary, settings=TextSettings.from_json(settings_json), manifest=manifest)
    print(f"data: {len(data.train)} training texts, {len(data.validation or [])} validation reviews, "
          f"{len(data.validation_short or [])} validation snippets, {len(data.validation_rules or [])} "
          f"validation texts built by rule, {len(data.unlabelled or [])} unlabelled "
          f"reviews, vocabulary {len(vocabulary) + 2}, text mode {data.settings.mode}", flush=True)
    return data


def load_pretrained(model: SentimentLSTM, folder: Path, vocabulary: list) -> None:
    """The LSTM part's weights from a pretrained checkpoint (a model folder, n-gram parts
    ignored), which must share the dataset's vocabulary and the recipe's LSTM shape."""
    try:
        config = ModelConfig.load(folder / "model_config.json")
        words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        raise DatasetError(f"{folder}: not a pretrained checkpoint ({type(error).__name__}: "
                           f"{str(error).splitlines()[0] if str(error) else ''})") from None
    if words != vocabulary:
        raise DatasetError(f"{folder}: the checkpoint's vocabulary is not the dataset's; prepare the data with "
                           "the settings the checkpoint was pretrained with (its preprocessing.json)")
    different = [name for name in ("vocab_size", *LSTM_FIELDS)
                 if getattr(config, name) != getattr(model.config, name)]
    if different:
        raise DatasetError(f"{folder}: the checkpoint's LSTM differs from the recipe's in "
                           + ", ".join(f"{name} ({getattr(config, name)} != {getattr(model.config, name)})"
                                       for name in different))
    lstm_part = {name: tensor.float() for name, tensor in state.items()
                 if not name.startswith(("ngrams.", "short_ngrams.", "combiner."))}
    model.load_state_dict(lstm_part, strict=False)
    missing = set(model.state_dict()) - set(lstm_part)
    if missing - {name for name in missing if name.startswith(("ngrams.", "short_ngrams.", "combiner."))}:
        raise DatasetError(f"{folder}: the checkpoint lacks {', '.join(sorted(missing))}")


def build_model(args: argparse.Namespace, data: TrainingData) -> SentimentLSTM:
    """The LSTM the recipe describes, its weights from --pretrained-dir when given, else its
    embeddings started from word vectors with --word-vectors ppmi."""
    recipe = Recipe(**{name: getattr(args, name) for name in FIELDS})
    model = SentimentLSTM(ModelConfig.from_recipe(len(data.vocabulary) + 2, recipe))
    if args.pretrained_dir:
        load_pretrained(model, Path(args.pretrained_dir), data.vocabulary)
        print(f"pretrained: the LSTM starts from {args.pretrained_dir}", flush=True)
    elif args.word_vectors == "ppmi":
        started = time.perf_counter()
        corpus = data.word_texts if data.unlabelled is None else concatenate(data.word_texts, data.unlabelled)
        vectors = cooccurrence_vectors(corpus.ids, corpus.offsets, model.config.vocab_size,
                                       model.config.embedding_dim, window=args.context_window, seed=args.seed)
        seen_words = vectors.norm(dim=1) > 0
        with torch.no_grad():
            model.embedding.weight[seen_words] = vectors[seen_words]
        print(f"word vectors: {int(seen_words.sum()):,} words from co-occurrences in {len(corpus):,} reviews "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, {asdict(model.config)}", flush=True)
    return model


def backward(model: SentimentLSTM, loss_fn, ids, lengths, labels,
             adversarial: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Backpropagates the batch's loss and returns its logits and loss. With adversarial > 0
    (Miyato, Dai and Goodfellow, ICLR 2017) the same batch goes again with its embeddings pushed
    that far (L2 norm per review) in the direction that raises the loss most, so the model
    learns to keep its answer under small changes of the words' vectors."""
    with embedding_hook(model, capture=bool(adversarial)) as embedded:
        logits, loss = batch_loss(model, loss_fn, ids, lengths, labels)
        loss.backward()
    if adversarial:
        gradient = embedded["output"].grad.detach()
        norms = gradient.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)
        with embedding_hook(model, shift=adversarial * gradient / norms):
            batch_loss(model, loss_fn, ids, lengths, labels)[1].backward()
    return logits, loss


def selection_score(figures: dict, select_by: str) -> float:
    """How good held-out figures are by the recipe's select_by, higher is better."""
    return figures["accuracy"] if select_by == "accuracy" else -figures["loss"]


@dataclass
class Candidates:
    """The weights training may end with: the best epoch's on validation by select_by (the
    latest epoch's when nothing is held out), and the last `average_last` epochs', whose mean
    may do better."""
    average_last: int
    select_by: str = "accuracy"
    best_state: dict | None = None
    best_score: float = -math.inf
    best_accuracy: float = -1.0
    best_epoch: int = 0
    stale: int = 0  # epochs since the best one
    recent_states: list[dict] = field(default_factory=list)

    def observe(self, model: SentimentLSTM, epoch: int, validation: dict | None) -> None:
        """validation: the epoch's {"loss", "accuracy"} on the held-out reviews, None if none."""
        if self.average_last > 1:
            self.recent_states = (self.recent_states + [copy.deepcopy(model.state_dict())])[-self.average_last:]
        if validation is None:
            self.best_state, self.best_epoch = copy.deepcopy(model.state_dict()), epoch
        elif selection_score(validation, self.select_by) > self.best_score:
            self.best_state, self.best_epoch = copy.deepcopy(model.state_dict()), epoch
            self.best_score, self.best_accuracy, self.stale = (selection_score(validation, self.select_by),
                                                               validation["accuracy"], 0)
        else:
            self.stale += 1


def epoch_record(model: SentimentLSTM, validation: EncodedSplit | None, epoch: int, loss_sum: float,
                 correct: int, seen: int, started: float) -> dict:
    """The epoch's figures on its training batches and on validation, printed and returned."""
    held_out = evaluate(model, validation) if validation else {"loss": None, "accuracy": None}
    record = {
        "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
        "validation_loss": held_out["loss"], "validation_accuracy": held_out["accuracy"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    held_out = (f"validation loss {record['validation_loss']:.4f} acc {record['validation_accuracy']:.4f}"
                if validation else "nothing held out")
    print(f"epoch {epoch}: train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f} | "
          f"{held_out} | {record['seconds']:.0f} s", flush=True)
    return record


def fit_lstm(model: SentimentLSTM, data: TrainingData, args: argparse.Namespace, started: float,
             epochs: int, lr: float) -> tuple[list[dict], Candidates]:
    """The LSTM alone, epoch by epoch: AdamW on a one-cycle schedule peaking at lr over batches
    of similar lengths, validation after every epoch, early stopping. Returns each epoch's
    figures and the weights worth keeping."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    rng = random.Random(args.seed)
    epochs = 1 if args.dry_run else epochs
    steps_per_epoch = math.ceil(len(data.train) / args.batch_size)
    if args.dry_run:
        steps_per_epoch = min(steps_per_epoch, 3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)
    history: list[dict] = []
    candidates = Candidates(average_last=args.average_last, select_by=args.select_by)
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_started = time.perf_counter()
        batches = length_bucketed_batches(data.train, args.batch_size, rng)[:steps_per_epoch]
        loss_sum, correct, seen = 0.0, 0, 0
        progress = EpochProgress(len(batches), f"epoch {epoch}/{epochs}", quiet=args.quiet)
        for indices in batches:
            ids, lengths, labels = tensors(data.train, indices)
            optimizer.zero_grad(set_to_none=True)
            logits, loss = backward(model, loss_fn, ids, lengths, labels, args.adversarial)
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(indices)
            correct += int(((logits.detach() > 0).float() == labels).sum())
            seen += len(indices)
            progress.step(loss_sum / seen)
        progress.close()
        history.append(epoch_record(model, data.validation, epoch, loss_sum, correct, seen, epoch_started))
        record = history[-1]
        candidates.observe(model, epoch, None if record["validation_loss"] is None else
                           {"loss": record["validation_loss"], "accuracy": record["validation_accuracy"]})
        if candidates.stale and candidates.stale >= args.patience:  # stale is 0 after a better epoch
            print(f"early stop: no better validation {args.select_by} for {candidates.stale} epochs", flush=True)
            break
        if args.max_minutes and time.perf_counter() - started > args.max_minutes * 60:
            print(f"stopping: the {args.max_minutes} minute budget is spent", flush=True)
            break
    return history, candidates


def choose_weights(model: SentimentLSTM, candidates: Candidates, history: list[dict],
                   validation: EncodedSplit | None) -> tuple[str, float, dict | None]:
    """Loads the weights to keep into the model: the best epoch's, or the mean of the last
    epochs' when it scores better on validation by select_by (always, when nothing is held
    out). Epochs near the end of the one-cycle schedule sit close together, and their mean often
    generalises better than any one of them. Returns the kept weights' name and validation
    accuracy, and the mean's validation figures."""
    state, accuracy, averaged = candidates.best_state, candidates.best_accuracy, None
    selected = f"epoch {candidates.best_epoch}"
    recent = candidates.recent_states
    if len(recent) > 1:
        mean_state = {name: sum(weights[name].float() for weights in recent) / len(recent) for name in recent[0]}
        mean_label = f"average of epochs {history[-1]['epoch'] - len(recent) + 1}-{history[-1]['epoch']}"
        if validation is None:
            state, selected = mean_state, mean_label
        else:
            model.load_state_dict(mean_state)
            averaged = evaluate(model, validation)
            print(f"average of the last {len(recent)} epochs: validation loss {averaged['loss']:.4f} "
                  f"acc {averaged['accuracy']:.4f}", flush=True)
            if selection_score(averaged, candidates.select_by) > candidates.best_score:
                state, accuracy, selected = mean_state, averaged["accuracy"], mean_label
    model.load_state_dict(state)
    return selected, accuracy, averaged


def save(model: SentimentLSTM, data: TrainingData, metrics: dict, args: argparse.Namespace) -> Path:
    """The model directory (what SageMaker archives and serves, so code/ goes in), and the
    metrics and training curve again under --output-data-dir."""
    model_dir = Path(args.model_dir)
    write_model_dir(model_dir, model, data.vocabulary, data.settings, metrics, with_code=True)
    plot_curve(metrics["history"], model_dir / "training_curve.png")
    output_dir = Path(args.output_data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_curve(metrics["history"], output_dir / "training_curve.png")
    return model_dir


def train(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    # Load data ---------------------------------------------------------------------------
    data = load_training_data(args)

    # Build model -------------------------------------------------------------------------
    model = build_model(args, data)

    # Fit the LSTM, then keep the best weights (early stopping, weight averaging) -----------
    pretraining = None
    if args.pretrain_first and not args.pretrained_dir:
        print("pretraining stage: the LSTM on the reviews and windows, no texts built by rule", flush=True)
        # As `sentiment pretrain` does: the weights kept by validation loss.
        pretrain_args = argparse.Namespace(**{**vars(args), "select_by": "loss"})
        history, candidates = fit_lstm(model, load_training_data(args, rules=False), pretrain_args, started,
                                       args.epochs, args.lr)
        selected, accuracy, _ = choose_weights(model, candidates, history, data.validation)
        pretraining = {"history": history, "selected_weights": selected, "validation_accuracy": accuracy,
                       "seconds": round(time.perf_counter() - started, 1)}
        print(f"pretraining stage: kept {selected} in {pretraining['seconds']:.0f} s; fine-tuning", flush=True)
    fine_tuning = bool(args.pretrained_dir) or pretraining is not None
    history, candidates = fit_lstm(model, data, args, started, *((args.finetune_epochs, args.finetune_lr)
                                                                 if fine_tuning else (args.epochs, args.lr)))
    selected, validation_accuracy, averaged = choose_weights(model, candidates, history, data.validation)

    # The n-gram parts and the combining layer ---------------------------------------------
    held_out = {name: split for name, split in (("validation", data.validation),
                                                ("validation_short", data.validation_short),
                                                ("validation_rules", data.validation_rules))
                if split is not None and len(split)}
    parts = add_ngram_part(model, data.ngram_texts, data.windows, held_out, args) if args.ngram_order else {}
    if args.ngram_order and data.validation is not None:
        validation_accuracy = parts["validation"]["model"]

    # Save --------------------------------------------------------------------------------
    metrics = {
        "best_epoch": candidates.best_epoch,
        "selected_weights": selected,
        "validation_accuracy": validation_accuracy if data.validation else None,
        "fit_on_validation_reviews": bool(args.fit_all),
        "averaged_validation_accuracy": averaged["accuracy"] if averaged else None,
        "validation_by_part": parts,
        "validation_short_accuracy": parts.get("validation_short", {}).get("model"),
        "validation_calibration_error": parts.get("validation", {}).get("calibration_error"),
        "history": history,
        "fine_tuned_from": args.pretrained_dir or ("the pretraining stage above" if pretraining else None),
        "pretraining": pretraining,
        "training_seconds": round(time.perf_counter() - started, 1),
        "hyperparameters": {k: v for k, v in vars(args).items() if not k.endswith("_dir")},
        "dataset": {key: data.manifest[key] for key in ("splits", "source", "files")},
    }
    model_dir = save(model, data, metrics, args)
    kept = f"validation accuracy {validation_accuracy:.4f}" if data.validation else "trained on every review"
    print(f"{kept} ({selected}); model written to {model_dir} in {metrics['training_seconds']:.0f} s", flush=True)
    if metrics["validation_short_accuracy"] is not None:
        # These two lines are read by the training job's metric definitions, hence into the model
        # registry's record.
        print(f"short-text validation accuracy {metrics['validation_short_accuracy']:.4f}", flush=True)
    if metrics["validation_calibration_error"] is not None:
        print(f"validation calibration error {metrics['validation_calibration_error']:.4f}", flush=True)
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
