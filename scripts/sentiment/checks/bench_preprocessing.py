#!/usr/bin/env python3
"""Seed-mode preprocessing speed, side by side with the original notebook's review_to_words, on
one core, and a token-for-token comparison of the two on the same reviews.

The original is run as written, with NLTK's own stopword reader (which re-reads the list on
every call) and a fresh PorterStemmer per word, except for its per-review
nltk.download("stopwords"), which needs the network; the list comes from --stopwords.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sentiment.data.reviews import SourceError, default_source, read_reviews
from sentiment_model.preprocessing import TextSettings, Tokenizer


def original_function(stopwords_file: Path):
    import nltk
    from bs4 import BeautifulSoup
    from nltk.corpus.reader import WordListCorpusReader
    from nltk.stem.porter import PorterStemmer

    data_dir = Path(tempfile.mkdtemp(prefix="nltk-data-"))
    corpus_dir = data_dir / "corpora" / "stopwords"
    corpus_dir.mkdir(parents=True)
    shutil.copyfile(stopwords_file, corpus_dir / "english")
    nltk.data.path.insert(0, str(data_dir))  # NLTK only reads corpora under its data path
    stopwords = WordListCorpusReader(str(corpus_dir), ["english"])

    def review_to_words(review):
        text = BeautifulSoup(review, "html.parser").get_text()
        text = re.sub(r"[^a-zA-Z0-9]", " ", text.lower())
        words = text.split()
        words = [w for w in words if w not in stopwords.words("english")]
        words = [PorterStemmer().stem(w) for w in words]
        return words

    return review_to_words


def rate(function, texts, repeats: int) -> tuple[float, list]:
    rates, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = [function(t) for t in texts]
        rates.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(rates), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=default_source(),
                        help="IMDb training reviews from any review source: a .jsonl[.gz] file, a folder with "
                             "train.jsonl.gz, aclImdb/, aclImdb_v1.tar.gz or its URL (default: %(default)s)")
    parser.add_argument("--stopwords", default="../shared/data/nltk_stopwords_english.txt",
                        help="NLTK's English stopword list, one word per line")
    parser.add_argument("--original-sample", type=int, default=300,
                        help="reviews given to the (slow) original function (default: 300)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is printed")
    args = parser.parse_args(argv)
    if not Path(args.stopwords).is_file():
        print(f"error: {args.stopwords}: not found", file=sys.stderr)
        return 2
    try:
        texts = [review.text for review in read_reviews(args.data, "train")]
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import torch  # noqa: F401  (imported only so that one-core runs are comparable with other benches)

    step = max(1, len(texts) // args.original_sample)
    sample = texts[::step][: args.original_sample]
    stopwords = tuple(Path(args.stopwords).read_text().split())

    original = original_function(Path(args.stopwords))
    original_rate, original_tokens = rate(original, sample, 1)
    fresh = Tokenizer(TextSettings.seed(stopwords))
    ours_sample_rate, ours_tokens = rate(fresh, sample, args.repeats)
    ours_rate, _ = rate(Tokenizer(TextSettings.seed(stopwords)), texts, args.repeats)
    identical = sum(a == b for a, b in zip(original_tokens, ours_tokens))
    print(f"seed-mode preprocessing, one core, {len(sample)} reviews side by side")
    print(f"  original review_to_words   {original_rate:10,.0f} reviews/s")
    print(f"  seed Tokenizer (same)      {ours_sample_rate:10,.0f} reviews/s   x{ours_sample_rate / original_rate:,.0f}")
    print(f"  seed Tokenizer, all {len(texts):,}  {ours_rate:10,.0f} reviews/s   (median of {args.repeats})")
    print(f"  token-identical            {identical}/{len(sample)} reviews")
    return 0 if identical == len(sample) else 1


if __name__ == "__main__":
    sys.exit(main())
