"""Why one review reads as it does: a weight for each word of the visitor's own text and a
probability for each of its sentences (inference.py answers {"review": ..., "explain": true}).

    {"words": [{"text": "Wonderful", "start": 0, "end": 9, "weight": 1.2345}, ...],
     "sentences": [{"start": 0, "end": 31, "probability": 0.981234}, ...]}

Words. start and end are character offsets into the review exactly as sent (Python string
indices, that is Unicode code points), so review[start:end] is the word as the visitor wrote it,
markup and character references included ("don&#39;t"). A word appears once per occurrence, in
the order of the text. weight is the word's contribution to the model's logit (the log-odds of
"positive"): above 0 pushes towards positive, below 0 towards negative. Words the model did not
read are left out: words outside its vocabulary (it reads them all as one "unknown" word), words
its text pipeline drops (a seed-mode model's stopwords) and the middle of a review longer than
the model's max_tokens (preprocessing.Encoder.truncate).

The weights are integrated gradients (Sundararajan, Taly and Yan, 2017) over the output of the
embedding layer: the path runs from a baseline in which every word the model knows is replaced
by the padding vector (zeros) and unknown words stay as they are, to the review itself. The
path integral is a Gauss-Legendre quadrature: STEPS points on the path (LONG_REVIEW_STEPS for
reviews longer than LONG_REVIEW_TOKENS), one batch, one forward and one backward pass. The
weights of the listed words add up to the logit of the
review minus the logit of that baseline, within the quadrature's error (docs/model.md gives the
figures and why this method).

Sentences. The review is cut after ".", "!", "?" or "…" followed by a space, at line breaks and
at <br> tags; each sentence that holds at least one word gets its own probability of "positive"
from the same model, scored alone. A review of one sentence gets one, equal to the review's.
"""
from __future__ import annotations

import re

import numpy
import torch

from sentiment_model.artifact import Predictor
from sentiment_model.network import SentimentLSTM, pad_batch
from sentiment_model.preprocessing import UNKNOWN_ID

# 16 Gauss-Legendre points integrate more closely than 32 equal steps: on IMDb test reviews the
# weights' sum misses the logit difference by a median 0.15 to 0.3% (docs/model.md).
STEPS = 16
# A long review's gradient pass costs most of an explained request. On 40 IMDb test reviews, one
# explained request took a median 53.4 ms in process with 16 points, 33.0 ms with 8 and 26.9 ms
# with 6 (3.6 ms unexplained), measured side by side. On 500 test reviews the words that 6 points
# rank first move the prediction as far as those of 16 (faithfulness margin 0.2274 against
# 0.2264), while the weights add up less closely (completeness: median 16.2% of the logit change
# against 6.8%, p90 51% against 42%; docs/model.md). Visitors' one or two sentences keep 16
# points: they cost little either way.
LONG_REVIEW_STEPS = 6
LONG_REVIEW_TOKENS = 64
WEIGHT_DIGITS = 4
# Short reviews (one or two sentences, as visitors type them) share a gradient pass, up to
# EXPLAIN_BATCH of them: for reviews of 5 to 30 tokens that saved about 20% per review on one CPU
# core, while for reviews of 40 tokens and more one pass per review was as fast or faster
# (40-80 tokens: 12.6 ms alone, 16.9 ms in passes of 8; 180-220 tokens: 35.4 ms alone, 47.7 ms).
EXPLAIN_BATCH = 8
SHARED_PASS_MAX_TOKENS = 32
PROBABILITY_DIGITS = 6

# A run of closing punctuation is tried once, from its first character (the lookbehind): tried
# from each of its characters, as finditer would, a run of k full stops cost k * k steps.
SENTENCE_BREAK = re.compile(
    r"(?<![.!?\u2026])(?P<close>[.!?\u2026]+[\"'\u201d\u2019)\]]*)(?=\s|<br|$)|<br\s*/?>|\r?\n", re.IGNORECASE)
# A full stop after these ends an abbreviation, not a sentence ("Mr. Costner").
ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "vol"})
# Each sentence is scored on its own: "A. A. A. ..." up to the 100,000-character limit made
# 33,000 of them and took seconds. The 50,000 IMDb reviews have at most 282 sentences.
MAX_SENTENCES = 1000
LONGEST_ABBREVIATION = max(map(len, ABBREVIATIONS))
WORD_TAIL = re.compile(r"[\w.]*\Z")
NOT_SPACE = re.compile(r"\S")


def quadrature(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss-Legendre nodes on [0, 1] and their weights (which sum to 1)."""
    nodes, weights = numpy.polynomial.legendre.leggauss(steps)
    return torch.tensor((nodes + 1) / 2, dtype=torch.float32), torch.tensor(weights / 2, dtype=torch.float32)


def quadrature_points(tokens: int) -> int:
    """The points of the path integral for a review of this many tokens."""
    return STEPS if tokens <= LONG_REVIEW_TOKENS else LONG_REVIEW_STEPS


def token_attributions(model: SentimentLSTM, ids: list[int], steps: int | None = None) -> list[float]:
    """Each token's contribution to the logit of the review ids (one list, not empty); steps:
    the quadrature's points, quadrature_points(len(ids)) unless given."""
    return batch_token_attributions(model, [ids], steps or quadrature_points(len(ids)))[0]


def batch_token_attributions(model: SentimentLSTM, reviews: list[list[int]], steps: int = STEPS) -> list[list[float]]:
    """token_attributions for several reviews in one forward and one backward pass: each review's
    path points are rows of one padded batch (the network reads padded rows as it reads each
    review alone), which costs a small CPU far less than one pass per review.

    Everything that depends on the network's shape is here: the LSTM's share by integrated
    gradients over its input embeddings (forward's embedded= hook; the combining layer's factor
    is inside the gradient), and the n-gram part's share exactly, since that part is linear
    (NgramScorer.token_shares). A new component of the network adds its per-token share here."""
    count = len(reviews)
    tokens, lengths = pad_batch(reviews)
    with torch.no_grad():
        embedded = model.embedding(tokens)
    known = (tokens != UNKNOWN_ID).unsqueeze(2).to(embedded.dtype)
    difference = embedded * known
    alphas, quadrature_weights = quadrature(steps)
    # Rows [review 0 at each point, review 1 at each point, ...]: (count * steps, length, dim).
    path = ((embedded - difference).unsqueeze(1) + alphas.view(1, -1, 1, 1) * difference.unsqueeze(1))
    path = path.flatten(0, 1).requires_grad_(True)
    row_tokens = tokens.repeat_interleave(steps, dim=0)
    row_lengths = lengths.repeat_interleave(steps)
    with torch.enable_grad():
        # Only the LSTM reads the embeddings (the n-gram parts are constant along the path), so
        # the path runs through it alone, times the combining layer's factor for it.
        logits = model.lstm_logits(row_tokens, row_lengths, packed=False, embedded=path)
        if model.config.ngram_features:
            logits = logits * model.combiner.scales(row_lengths)[0]
        (gradients,) = torch.autograd.grad(logits.sum(), path)
    gradients = gradients.view(count, steps, *gradients.shape[1:])
    average_gradient = (gradients * quadrature_weights.view(1, -1, 1, 1)).sum(dim=1)
    shares = (average_gradient * difference).sum(dim=2)
    return [(shares[row, :len(ids)] + ngram_shares(model, ids)).tolist() for row, ids in enumerate(reviews)]


def ngram_shares(model: SentimentLSTM, ids: list[int]) -> torch.Tensor:
    """Each token's share of the n-gram part's contribution (zeros without that part): the part
    is linear, so each n-gram's weight, scaled as the combining layer scales the part for a
    review of this length, is split over the words it is made of. Unknown words get none."""
    scorers = model.ngram_scorers()
    if not scorers:
        return torch.zeros(len(ids))
    with torch.no_grad():
        scales = model.combiner.scales(torch.tensor([len(ids)]))[1:1 + len(scorers)]
        known = torch.tensor(ids) != UNKNOWN_ID
        return sum(scorer.token_shares(ids) * scale for scorer, scale in zip(scorers, scales)) * known


def _trimmed(review: str, start: int, end: int) -> tuple[int, int]:
    while start < end and review[start].isspace():
        start += 1
    while end > start and review[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(review: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of the review, surrounding spaces left out; past
    MAX_SENTENCES - 1 sentences, the rest of the review is the last one.

    One pass, linear in the review: a full stop ends an abbreviation when the word of letters,
    digits and full stops before it (within the sentence) is one of ABBREVIATIONS, which a few
    characters settle, and the first character after a break that is not a space is found by a
    search that resumes where the previous one stopped."""
    spans = []
    cursor = 0
    after_spaces = 0  # the first character at or after the last break's end that is not a space
    for found in SENTENCE_BREAK.finditer(review):
        if found.group("close"):
            close = found.start("close")
            if review[close] == ".":
                # A word longer than every abbreviation is none of them, however long it is.
                word = WORD_TAIL.search(review, max(cursor, close - LONGEST_ABBREVIATION - 1), close).group()
                if word.lower() in ABBREVIATIONS:
                    continue
            if after_spaces < found.end():
                following = NOT_SPACE.search(review, found.end())
                after_spaces = following.start() if following else len(review)
            if review[after_spaces: after_spaces + 1].islower():
                continue
            end = found.end("close")
        else:
            end = found.start()
        start, end = _trimmed(review, cursor, end)
        if end > start:
            spans.append((start, end))
        cursor = found.end()
        if len(spans) == MAX_SENTENCES - 1:
            break
    start, end = _trimmed(review, cursor, len(review))
    if end > start:
        spans.append((start, end))
    return spans


def explain(predictor: Predictor, review: str, probability: float) -> dict:
    """The explanation of one review whose probability of "positive" is probability."""
    return explain_many(predictor, [review], [probability])[0]


def explain_many(predictor: Predictor, reviews: list[str], probabilities: list[float]) -> list[dict]:
    """explain() for several reviews at once, as the model server batches concurrent requests:
    short reviews share gradient passes (EXPLAIN_BATCH at a time), longer ones get one each, and
    the sentences of all of them are scored in one call."""
    encoder = predictor.encoder
    encoded = [encoder.encode_with_spans(review) for review in reviews]
    explained = [index for index, (ids, spans) in enumerate(encoded) if ids and spans is not None]
    weights: dict[int, list[float]] = {}
    explained.sort(key=lambda index: len(encoded[index][0]))  # similar lengths: less padding
    short = [index for index in explained if len(encoded[index][0]) <= SHARED_PASS_MAX_TOKENS]
    passes = [short[start:start + EXPLAIN_BATCH] for start in range(0, len(short), EXPLAIN_BATCH)]
    passes += [[index] for index in explained[len(short):]]
    for chunk in passes:
        steps = quadrature_points(max(len(encoded[i][0]) for i in chunk))
        for index, review_weights in zip(chunk, batch_token_attributions(predictor.model, [encoded[i][0] for i in chunk],
                                                                         steps)):
            weights[index] = review_weights

    sentences = [[(start, end) for start, end in sentence_spans(review) if encoder.tokenizer(review[start:end])]
                 for review in reviews]
    several = [index for index, spans in enumerate(sentences) if len(spans) > 1]
    several_set = set(several)
    scored = iter(predictor.predict([reviews[index][start:end] for index in several for start, end in sentences[index]]))
    sentence_probabilities = [[next(scored) for _ in spans] if index in several_set else [probabilities[index]] * len(spans)
                              for index, spans in enumerate(sentences)]
    answers = []
    for index, review in enumerate(reviews):
        ids, spans = encoded[index]
        words = [{"text": review[start:end], "start": start, "end": end, "weight": round(weight, WEIGHT_DIGITS)}
                 for word_id, (start, end), weight in zip(ids, spans or (), weights.get(index, ()))
                 if word_id != UNKNOWN_ID]
        answers.append({
            "words": words,
            "sentences": [{"start": start, "end": end, "probability": round(float(p), PROBABILITY_DIGITS)}
                          for (start, end), p in zip(sentences[index], sentence_probabilities[index])],
        })
    return answers
