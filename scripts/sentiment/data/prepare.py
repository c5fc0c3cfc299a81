#!/usr/bin/env python3
"""Prepare IMDb reviews for training: tokenize on every core, build the vocabulary on the training
part, hold out a seeded validation split, and write the folder the SageMaker ``training`` channel
receives (see model_code/sentiment_model/dataset.py for its layout).

Beside the whole reviews, the training folder holds short texts cut from them
(sentiment.data.snippets): `train_windows`, sentence windows of the training reviews that the
model also learns from, and `validation_short`, snippets of the validation reviews it is tuned on
for what visitors type; and texts built by rule from them (sentiment.data.rules): `train_rules`
from the training reviews and `validation_rules` from the validation ones, negated and contrasted
sentences whose labels the rules know. Where the source has the 50,000 unlabelled reviews (the archive's
train/unsup/, the JSON-lines copy's unsup.jsonl.gz), they are encoded with the same vocabulary
into a second folder, the training job's `unlabelled` channel (word vectors are learned on them).

    sentiment prepare --source ../shared/data/imdb --out data/processed
    sentiment prepare                         # downloads aclImdb_v1.tar.gz
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

from sentiment.data.reviews import DEFAULT_CACHE, OFFICIAL_URL, SourceError, load_reviews, load_unlabelled
from sentiment.data.rules import polarity_lexicon, rule_texts
from sentiment.data.snippets import short_snippets, training_windows
from sentiment_model.dataset import EncodedSplit, save_dataset, save_unlabelled, unlabelled_folder
from sentiment_model.preprocessing import (
    FUNCTION_WORDS,
    Encoder,
    TextSettings,
    Tokenizer,
    build_vocabulary,
)
from sentiment_model.sagemaker_job import flag

_worker_tokenizer: Tokenizer | None = None


def _init_worker(settings_json: dict) -> None:
    global _worker_tokenizer
    _worker_tokenizer = Tokenizer(TextSettings.from_json(settings_json))


def _tokenize(text: str) -> list[str]:
    return _worker_tokenizer(text)


def tokenize_all(texts: list[str], settings: TextSettings, workers: int, progress: bool) -> list[list[str]]:
    from tqdm import tqdm

    bar = {"total": len(texts), "desc": "tokenizing", "unit": " reviews", "disable": not progress}
    if workers <= 1:
        _init_worker(settings.to_json())
        return [_tokenize(t) for t in tqdm(texts, **bar)]
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (settings.to_json(),)) as pool:
        return list(tqdm(pool.imap(_tokenize, texts, chunksize=256), **bar))


def read_stopwords(path: str | None) -> tuple[str, ...]:
    if path:
        try:
            words = Path(path).read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError) as error:
            raise SourceError(f"{path}: cannot read the stopword list ({error})") from None
        if not words:
            raise SourceError(f"{path}: the stopword list is empty")
        return tuple(words)
    try:
        from nltk.corpus import stopwords

        return tuple(stopwords.words("english"))
    except LookupError:
        raise SourceError("seed mode needs NLTK's English stopword list: pass --stopwords FILE "
                          "(one word per line) or run `python -m nltk.downloader stopwords`") from None


def split_validation(reviews, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of (train, validation). Identical texts stay on the same side, so validation
    never scores a review the model trained on."""
    groups: dict[str, list[int]] = {}
    for index, review in enumerate(reviews):
        groups.setdefault(hashlib.sha1(review.text.encode("utf-8"), usedforsecurity=False).hexdigest(), []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target = round(len(reviews) * fraction)
    validation: list[int] = []
    for key in keys:
        if len(validation) >= target:
            break
        validation.extend(groups[key])
    held = set(validation)
    return [i for i in range(len(reviews)) if i not in held], sorted(validation)


def limit_reviews(reviews, limit: int, seed: int) -> list:
    """A seeded sample of `limit` reviews, in their original order (all of them when there are
    no more than `limit`)."""
    order = list(range(len(reviews)))
    random.Random(seed).shuffle(order)
    return [reviews[i] for i in sorted(order[:limit])]


def source_description(source: str, reviews) -> dict:
    digest = hashlib.sha256()
    for review in reviews:
        digest.update(f"{review.label}\t{review.id}\t".encode())
        digest.update(review.text.encode("utf-8"))
        digest.update(b"\n")
    return {"source": source, "reviews": len(reviews), "content_sha256": digest.hexdigest()}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=OFFICIAL_URL,
                        help="archive URL, aclImdb_v1.tar.gz, aclImdb/ folder, folder with "
                             "train.jsonl[.gz], or a .jsonl[.gz] file (default: the official URL)")
    parser.add_argument("--out", default="data/processed", help="output folder (default: data/processed)")
    parser.add_argument("--unlabelled-out",
                        help="folder for the encoded unlabelled reviews, the `unlabelled` channel "
                             "(default: <out>-unlabelled)")
    parser.add_argument("--no-unlabelled", action="store_true",
                        help="skip the unlabelled reviews even where the source has them")
    parser.add_argument("--mode", choices=("default", "seed"), default="default",
                        help="text pipeline: 'default' (project) or 'seed' (the original notebook's)")
    parser.add_argument("--vocab-size", type=int, help="ids including padding and unknown "
                        "(default: 30000, or 5000 in seed mode)")
    parser.add_argument("--max-tokens", type=int, help="tokens kept per review (default: 400, or 500 in seed mode)")
    parser.add_argument("--stopwords", help="stopword file, one word per line; seed mode's default is "
                        "NLTK's English list if its data is installed, default mode's is none")
    parser.add_argument("--function-words", action="store_true",
                        help="default mode: drop the project's list of function words (negations kept)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="share of the training reviews held out for validation (default: 0.1)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the validation split (default: 42)")
    parser.add_argument("--rules", type=flag, default=True, metavar="BOOL",
                        help="also write train_rules and validation_rules, negated and contrasted sentences "
                             "built by rule (sentiment.data.rules) (default: true)")
    parser.add_argument("--limit", type=int, help="use only the first N reviews after shuffling (for quick runs)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="tokenizing processes (default: every core)")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="where downloads are kept")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not 0 < args.validation_fraction < 1:
        parser.error("--validation-fraction must be between 0 and 1")
    return args


def prepare(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    if args.mode == "seed":
        settings = TextSettings.seed(read_stopwords(args.stopwords))
    else:
        stopwords = read_stopwords(args.stopwords) if args.stopwords else ()
        if args.function_words:
            stopwords += FUNCTION_WORDS
        settings = TextSettings(stopwords=tuple(dict.fromkeys(stopwords)))
    overrides = {k: v for k, v in (("vocab_size", args.vocab_size), ("max_tokens", args.max_tokens)) if v}
    if overrides:
        settings = TextSettings.from_json({**settings.to_json(), **overrides})

    reviews = load_reviews(args.source, "train", Path(args.cache_dir), progress=not args.quiet)
    if args.limit:
        reviews = limit_reviews(reviews, args.limit, args.seed)
    train_idx, validation_idx = split_validation(reviews, args.validation_fraction, args.seed)
    if not train_idx or not validation_idx:
        raise SourceError(f"{args.source}: too few reviews ({len(reviews)}) for a validation split")

    tokens = tokenize_all([r.text for r in reviews], settings, args.workers, not args.quiet)
    vocabulary = build_vocabulary((tokens[i] for i in train_idx), settings.vocab_size)
    encoder = Encoder(settings, vocabulary)
    splits = {
        name: EncodedSplit.from_lists([encoder.encode_tokens(tokens[i]) for i in indices],
                                      [reviews[i].label for i in indices])
        for name, indices in (("train", train_idx), ("validation", validation_idx))
    }
    # Short texts: windows of the training reviews, snippets of the validation ones, and the
    # texts built by rule from each, with a lexicon learned from the training reviews alone.
    train_reviews, validation_reviews = [reviews[i] for i in train_idx], [reviews[i] for i in validation_idx]
    short_splits = [("train_windows", training_windows(train_reviews, args.seed)),
                    ("validation_short", short_snippets(validation_reviews))]
    if args.rules:
        lexicon = polarity_lexicon(train_reviews)
        short_splits += [("train_rules", rule_texts(train_reviews, lexicon, args.seed)),
                         ("validation_rules", rule_texts(validation_reviews, lexicon, args.seed + 1))]
    for name, short in short_splits:
        short_tokens = tokenize_all([r.text for r in short], settings, args.workers, False)
        splits[name] = EncodedSplit.from_lists([encoder.encode_tokens(t) for t in short_tokens],
                                               [r.label for r in short])
    source = source_description(args.source, reviews)
    source.update(validation_fraction=args.validation_fraction, seed=args.seed)
    manifest = save_dataset(Path(args.out), splits, vocabulary, settings.to_json(), source)
    if not args.no_unlabelled:
        unlabelled_out = Path(args.unlabelled_out) if args.unlabelled_out else unlabelled_folder(args.out)
        try:
            unlabelled = load_unlabelled(args.source, Path(args.cache_dir), progress=not args.quiet)
        except SourceError as error:
            print(f"no unlabelled reviews ({error}); word vectors will use the training reviews only")
        else:
            if args.limit:
                unlabelled = unlabelled[: args.limit]
            unlabelled_tokens = tokenize_all([r.text for r in unlabelled], settings, args.workers, not args.quiet)
            counted = save_unlabelled(unlabelled_out, [encoder.encode_tokens(t) for t in unlabelled_tokens],
                                      manifest["vocabulary_sha256"])
            print(f"wrote {unlabelled_out}: {counted:,} unlabelled reviews")
    seconds = time.perf_counter() - started
    counts = ", ".join(f"{n} {s['reviews']}" for n, s in manifest["splits"].items())
    print(f"wrote {args.out}: {counts} reviews, vocabulary {manifest['vocabulary_size']}, "
          f"mode {settings.mode}, {seconds:.1f} s")
    return manifest


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        prepare(args)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
