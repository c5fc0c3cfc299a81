"""Short texts built by rule from training reviews, for the two things review-level labels teach
badly: negation and contrast.

A review's label says how the whole review leans, so "not bad" inside a positive review and
"not bad" inside a negative one pull a model both ways, and a review that says "the plot is
thin, but the acting is superb" teaches nothing about which clause decides. These rules take
real sentences of the training reviews and make minimal pairs whose label is known:

- negation: a sentence that rests its verdict on one strongly polar word after a copula ("The
  acting was terrible.") is kept with its review's label, and also turned round by inserting a
  negator ("The acting was not terrible.", "...wasn't...", "...never...", "...far from...",
  "...hardly..." before praise) with the opposite label; the clause up to that word is also kept
  alone, negated and not, and so is the bare fragment ("Not terrible.", "Never boring.", "Hardly
  original."), the length of what a visitor types;
- contrast: two such sentences of opposite verdicts, from different reviews, are joined the ways
  English joins them ("A, but B", "A. However, B", "Although A, B", "B, although A"): the clause
  the connective puts last (or first, for a trailing "although") decides the label.

The polar words are learned from the same training reviews: words with a strong log-count ratio
between positive and negative reviews (Wang and Manning's NB weights) that the reviews use as
predicates ("was <word>") often enough, so names and plot words drop out. Nothing here reads the
validation or test reviews: `sentiment prepare` learns the lexicon from the training reviews and
builds `train_rules` from them and `validation_rules` from the validation reviews.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass

from sentiment.data.reviews import Review
from sentiment.data.snippets import sentences

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# "was <word>", with an optional degree word between (which the negated form keeps: "not very good").
_DEGREE = r"(?:(?:very|so|really|quite|too|that)\s+)?"
# The predicate must close its clause (punctuation or the end follows), so the negated form
# reads as English ("was not terrible.", not "was not supposed to").
_PREDICATE = re.compile(r"\b(is|was|are|were)\s+(" + _DEGREE + r")([a-z]+)(?=\s*(?:[.!?,;]|$))", re.I)
# Sentences that already negate or contrast are left out: the rules need a clean starting point.
_NEGATION_OR_CONTRAST = re.compile(
    r"\b(not|no|never|nothing|none|nobody|neither|nor|hardly|barely|without|but|yet|although|though|"
    r"however|despite|instead|except)\b|n't\b", re.I)
NEGATED_COPULA = {"is": "isn't", "was": "wasn't", "are": "aren't", "were": "weren't"}
MIN_WORDS, MAX_WORDS = 4, 25


@dataclass(frozen=True)
class Verdict:
    """A sentence resting on one polar predicate: where it sits and which way it leans."""
    text: str
    label: int
    copula_span: tuple[int, int]
    word: str
    word_end: int


def word_ratios(reviews: list[Review], min_reviews: int = 30) -> dict[str, float]:
    """Per word in at least min_reviews reviews: the smoothed log ratio of the shares of
    positive and negative reviews that hold it (Wang and Manning's NB weight of the word)."""
    documents = {0: Counter(), 1: Counter()}
    totals = Counter()
    for review in reviews:
        documents[review.label].update(set(_WORD.findall(review.text.lower())))
        totals[review.label] += 1
    ratios = {}
    for word in set(documents[0]) | set(documents[1]):
        positive, negative = documents[1][word], documents[0][word]
        if positive + negative >= min_reviews:
            ratios[word] = math.log(((positive + 1) / (totals[1] + 2)) / ((negative + 1) / (totals[0] + 2)))
    return ratios


@dataclass(frozen=True)
class Lexicon:
    """polar: {word: 1 or 0}, the predicates a rule may negate; ratios: every frequent word's
    ratio (word_ratios); leaning: the words whose ratio is large enough that a sentence holding
    one besides the polar word is not a clean verdict."""
    polar: dict[str, int]
    ratios: dict[str, float]
    leaning: frozenset


# Faint praise: IMDb reviewers who call a film "decent" or "okay" mostly did not like it, but
# "not decent" is no compliment, so these words are never negated into the other label.
FAINT_PRAISE = frozenset({"decent", "ok", "okay", "alright", "fine", "average", "watchable", "passable",
                          "acceptable", "adequate", "nice"})


def polarity_lexicon(reviews: list[Review], min_predicates: int = 20, min_ratio: float = 0.35,
                     min_evidence: float = 8.0, leaning_ratio: float = 0.6) -> Lexicon:
    """Polar words: words that close a clause after "is/was/are/were" at least min_predicates
    times, with a smoothed log ratio r of those uses in positive and in negative reviews of at
    least min_ratio either way and r * sqrt(uses) of at least min_evidence (a frequent word may
    lean less). The ratio is taken over predicate uses, not all uses, because "good" is as
    common in negative reviews as in positive ones ("no good", "not good") but "was good." is
    not; its ratio over all uses must agree or be near zero (|ratio| < 0.1), and be clear
    (0.3) for words in -ing ("was going."). Adverbs in -ly do not stand alone there, and faint
    praise (FAINT_PRAISE) does not turn round when negated."""
    predicates = {0: Counter(), 1: Counter()}
    for review in reviews:
        predicates[review.label].update(match.group(3) for match in _PREDICATE.finditer(review.text.lower()))
    totals = {label: sum(counts.values()) for label, counts in predicates.items()}
    ratios = word_ratios(reviews)
    polar = {}
    for word in set(predicates[0]) | set(predicates[1]):
        positive, negative = predicates[1][word], predicates[0][word]
        uses = positive + negative
        if uses < min_predicates or word.endswith("ly") or word in FAINT_PRAISE:
            continue
        ratio = math.log(((positive + 1) / (totals[1] + 2)) / ((negative + 1) / (totals[0] + 2)))
        overall = ratios.get(word, 0.0)
        if abs(ratio) < min_ratio or abs(ratio) * math.sqrt(uses) < min_evidence:
            continue
        if (overall * ratio < 0 and abs(overall) >= 0.1) or (word.endswith("ing") and abs(overall) < 0.3):
            continue
        polar[word] = int(ratio > 0)
    leaning = frozenset(word for word, ratio in ratios.items() if abs(ratio) >= leaning_ratio) | frozenset(polar)
    return Lexicon(polar, ratios, leaning)


def clear_sentences(reviews: list[Review], lexicon: Lexicon, min_lean: float = 1.5) -> list[Review]:
    """Sentences of 4-25 words with no negation or contrast whose leaning words all lean the
    way their review does, by at least min_lean in all: the clauses contrast_texts joins."""
    out = []
    for review in reviews:
        sign = 1 if review.label else -1
        for sentence in sentences(review.text):
            words = _WORD.findall(sentence.lower())
            if "<" in sentence or not MIN_WORDS <= len(words) <= MAX_WORDS or _NEGATION_OR_CONTRAST.search(sentence):
                continue
            leaning = [sign * lexicon.ratios.get(w, sign * (1.0 if lexicon.polar.get(w) == review.label else -1.0))
                       for w in words if w in lexicon.leaning]
            if leaning and min(leaning) > 0 and sum(leaning) >= min_lean:
                out.append(Review(sentence, review.label, review.id))
    return out


def verdicts(reviews: list[Review], lexicon: Lexicon) -> list[Verdict]:
    """Sentences of 4-25 words with no negation or contrast and one leaning word, a polar word
    of the lexicon closing a predicate, that lean the way their review does."""
    out = []
    for review in reviews:
        for sentence in sentences(review.text):
            words = _WORD.findall(sentence.lower())
            if "<" in sentence or not MIN_WORDS <= len(words) <= MAX_WORDS:
                continue
            if _NEGATION_OR_CONTRAST.search(sentence):
                continue
            leaning = [w for w in words if w in lexicon.leaning]
            if len(leaning) != 1 or lexicon.polar.get(leaning[0]) != review.label:
                continue
            match = next((m for m in _PREDICATE.finditer(sentence) if m.group(3).lower() == leaning[0]), None)
            if match is None:
                continue
            out.append(Verdict(sentence, review.label, match.span(1), leaning[0], match.end(3)))
    return out


# Negators and how often each is drawn: "hardly" reads naturally before praise ("hardly
# original"), "never" before blame ("never boring"); "not" and "far from" before either.
NEGATORS = {1: (("not", 0.55), ("far from", 0.15), ("hardly", 0.15), ("never", 0.15)),
            0: (("not", 0.6), ("far from", 0.15), ("never", 0.25))}


def _negator(label: int, rng: random.Random) -> str:
    words, weights = zip(*NEGATORS[label])
    return rng.choices(words, weights)[0]


def _negate(verdict: Verdict, rng: random.Random) -> str:
    start, end = verdict.copula_span
    copula = verdict.text[start:end]
    negator = _negator(verdict.label, rng)
    if negator == "not" and rng.random() < 0.5:
        negated = NEGATED_COPULA[copula.lower()]
        if copula[0].isupper():
            negated = negated.capitalize()
    else:
        negated = f"{copula} {negator}"
    return verdict.text[:start] + negated + verdict.text[end:]


def _clause(text: str) -> str:
    """A sentence ready to be a clause: no final punctuation, first letter lower unless "I"."""
    text = text.strip().rstrip(".!?;:,").strip()
    if text[:2] not in ("I ", "I'") and not text[:2].isupper():
        text = text[:1].lower() + text[1:]
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def negation_texts(found: list[Verdict], rng: random.Random) -> list[Review]:
    """Per verdict: the sentence and its negation, the clause up to the polar word, negated and
    not, and the bare "Not <word>." fragment, with their labels."""
    out = []
    for index, verdict in enumerate(found):
        flipped = 1 - verdict.label
        negated = _negate(verdict, rng)
        out.append(Review(verdict.text, verdict.label, f"rules:negation:{index}:original"))
        out.append(Review(negated, flipped, f"rules:negation:{index}:negated"))
        clause = verdict.text[:verdict.word_end].strip()
        shift = len(negated) - len(verdict.text)
        out.append(Review(clause + ".", verdict.label, f"rules:negation:{index}:clause"))
        out.append(Review(negated[:verdict.word_end + shift].strip() + ".", flipped,
                          f"rules:negation:{index}:negated-clause"))
        word = verdict.text[verdict.word_end - len(verdict.word):verdict.word_end]
        degree = verdict.text[verdict.copula_span[1]:verdict.word_end - len(verdict.word)].strip()
        fragment = " ".join(part for part in (_negator(verdict.label, rng), degree, word) if part)
        out.append(Review(_sentence(fragment) + rng.choice([".", ".", "!", " at all."]), flipped,
                          f"rules:negation:{index}:fragment"))
    return out


# The ways two clauses are joined. In each, b/B is the clause that decides and a/A the conceded
# one: the last clause after "but", "yet", "however" or a leading "although", the first before a
# trailing "although".
CONTRASTS = ("{a}, but {b}.", "{A}. But {b}.", "{a}, yet {b}.", "{A}. However, {b}.", "Although {a}, {b}.",
             "Though {a}, {b}.", "{B}, although {a}.", "{B}, even though {a}.")


def contrast_texts(clauses: list[Review], count: int, rng: random.Random) -> list[Review]:
    """count texts joining two clear sentences of opposite labels, the decisive one chosen at
    random."""
    by_label = {label: [c for c in clauses if c.label == label] for label in (0, 1)}
    if not by_label[0] or not by_label[1]:
        return []
    out = []
    for index in range(count):
        decisive_label = rng.randrange(2)
        decisive, other = rng.choice(by_label[decisive_label]), rng.choice(by_label[1 - decisive_label])
        text = rng.choice(CONTRASTS).format(a=_clause(other.text), A=_sentence(_clause(other.text)),
                                            b=_clause(decisive.text), B=_sentence(_clause(decisive.text)))
        out.append(Review(text, decisive_label, f"rules:contrast:{index}"))
    return out


def rule_texts(reviews: list[Review], lexicon: Lexicon, seed: int, contrasts: float = 1.0) -> list[Review]:
    """The negation and contrast texts built from these reviews with a lexicon (polarity_lexicon
    of the training reviews), shuffled: contrasts texts of contrast per negation text."""
    rng = random.Random(seed)
    negations = negation_texts(verdicts(reviews, lexicon), rng)
    texts = negations + contrast_texts(clear_sentences(reviews, lexicon), int(len(negations) * contrasts), rng)
    rng.shuffle(texts)
    return texts
