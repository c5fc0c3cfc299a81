"""Short texts cut from whole reviews: what visitors of the site type, built from IMDb reviews.

Visitors type a sentence or two; IMDb reviews run to 230 words on average. Two uses:
- short validation snippets (short_snippets): per held-out review, its last two sentences and its
  first sentence, each labelled as the review. A review's closing lines usually carry its
  verdict ("Highly recommended.", "Avoid."), its opening line often the first impression, and
  together they are the length of what a visitor types. The label is the whole review's, so
  some snippets are noisy (a line about the plot, the DVD, the cast); the baseline command
  estimates how many.
- training windows (training_windows): the same cuts plus one sentence from the middle, per
  training review, so that the model also learns from text of the length it will be asked
  about. A middle sentence is more often neutral plot summary; a model that learns it from both
  labels learns to leave such text near 0.5, which is the honest answer for it.
"""
from __future__ import annotations

import random
import re

from sentiment.data.reviews import Review

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>\s*(?:<br\s*/?>\s*)*", re.I)
_WORD = re.compile(r"\w+(?:'\w+)?")
MIN_WORDS, MAX_WORDS = 3, 60


def words(text: str) -> int:
    return len(_WORD.findall(text))


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _cuts(review: Review, middle: random.Random | None) -> list[tuple[str, list[str]]]:
    parts = sentences(review.text)
    if len(parts) < 3:
        return []
    cuts = [("last2", parts[-2:]), ("first", parts[:1])]
    if middle is not None:
        cuts.append(("middle", [parts[middle.randrange(1, len(parts) - 1)]]))
    return cuts


def _snippets(reviews: list[Review], middle: random.Random | None) -> list[Review]:
    out = []
    for review in reviews:
        for name, chosen in _cuts(review, middle):
            text = " ".join(chosen)
            if MIN_WORDS <= words(text) <= MAX_WORDS:
                out.append(Review(text, review.label, f"{review.id}:{name}"))
    return out


def short_snippets(reviews: list[Review]) -> list[Review]:
    """Per review of 3+ sentences: its last two sentences and its first sentence (3-60 words
    each), labelled as the review, with ids "<review id>:last2" and "<review id>:first"."""
    return _snippets(reviews, None)


def training_windows(reviews: list[Review], seed: int) -> list[Review]:
    """short_snippets plus one middle sentence per review (chosen with a seeded generator)."""
    return _snippets(reviews, random.Random(seed))
