"""Behavioural tests of the sentiment model: what it does with negation, contrast, intensity,
comparisons, ratings, sarcasm, names and places, typos and length, checked one capability at a
time, in the manner of CheckList (Ribeiro et al., "Beyond Accuracy: Behavioral Testing of NLP
Models with CheckList", ACL 2020). Accuracy on IMDb says how often the model is right on reviews
like its training data; these tests say which kinds of sentence it gets wrong, and whether the
linear baseline gets the same ones wrong.

Each capability is a group of templates; slot fillers (adjectives, film words, names, cities)
turn each template into cases, in a fixed order, so every run scores the same texts. A case is
one of three kinds:

- label: the text has an expected label ("not good" -> negative); it fails when the predicted
  label (P(positive) >= 0.5) differs;
- invariant: a text and a variant of it (another name, another city, one typo, neutral filler
  sentences around it); it fails when the two predicted labels differ;
- direction: a text and a variant that should move the score one way ("very good" at least as
  positive as "good"); it fails when the score moves the other way by more than 0.05.

Held-out templates. With a fixed seed (--seed) a fixed fraction (--held-out, 30%) of each
capability's templates, never single cases, is held out: templates are ranked by the sha256 of
"<seed>:<template id>" and the first round(fraction x templates) are held out, at least one and
never all. Failure rates are reported for the tuning part and the held-out part separately.
Only the tuning part may guide changes to the model, its recipe or these templates; the
held-out part is read once, as the figure for behaviour the changes were not aimed at. That is
why the printed and saved example failures come from the tuning part only, and why the seed
and the fraction are not changed after the held-out figures have been seen.

The model is scored through its own text pipeline (sentiment.evaluation.scoring); the baseline
(sentiment.evaluation.baseline) is fitted on the model's training split when --data names the
IMDb reviews, and left out, with a note, when it does not.

    sentiment behaviour --model models/default --data ../shared/data/imdb --json build/behaviour.json
    sentiment behaviour --quick      # two cases per template, seconds (CI)
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from sentiment.paths import DEFAULT_MODEL, ROOT

# A direction case fails only when the score moves the wrong way by more than this.
TOLERANCE = 0.05
MAX_CASES_PER_TEMPLATE = 40
QUICK_CASES_PER_TEMPLATE = 2
DEFAULT_SEED = 2020
DEFAULT_HELD_OUT = 0.3
PARTS = ("tuning", "held-out")

Scorer = Callable[[list[str]], Sequence[float]]

# ---------------------------------------------------------------------------------------------
# Slot fillers
# ---------------------------------------------------------------------------------------------
POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "moving", "funny", "clever",
            "beautiful", "fantastic", "superb")
NEGATIVE = ("bad", "terrible", "awful", "boring", "dull", "poor", "weak", "tedious", "disappointing", "horrible",
            "stupid", "mediocre")
# Adjectives that take "very" and "slightly" alike.
POSITIVE_GRADABLE = ("good", "funny", "enjoyable", "entertaining", "moving", "clever", "charming", "exciting")
NEGATIVE_GRADABLE = ("bad", "boring", "dull", "silly", "weak", "tedious", "predictable", "disappointing")
INTENSIFIERS = ("very", "really", "extremely", "incredibly", "truly", "remarkably")
DOWNTONERS = ("somewhat", "slightly", "a bit", "a little", "mildly")
WORKS = ("film", "movie", "sequel", "comedy", "thriller", "drama")
WORKS_PLURAL = ("films", "movies", "comedies", "thrillers", "dramas", "sequels")
ASPECTS = ("plot", "acting", "story", "script", "dialogue", "ending", "soundtrack", "direction")
REFERENCES = ("book", "original", "first one", "trailer", "remake", "novel", "last one", "first film")
NAMES = ("Maria", "John", "Aisha", "Wei", "Olga", "Carlos", "Priya", "Tom", "Fatima", "Kenji", "Emma", "Ahmed")
CITIES = ("London", "Paris", "Lagos", "Mumbai", "Chicago", "Tokyo", "Cairo", "Berlin", "Lima", "Sydney",
          "Toronto", "Seoul")
FILLER_SENTENCES = ("I saw it on a Tuesday evening.", "The cinema was about half full.",
                    "It runs just under two hours.", "It was released in the spring.",
                    "I went with two friends from work.", "We bought the tickets online.",
                    "Most of it is in English, with a few scenes in French.", "There is a short scene after the credits.",
                    "My seat was near the aisle.", "I had read a little about it beforehand.",
                    "The screening started ten minutes late.", "It is based on a novel.")
# Neutral paragraphs of 1, 2, 4 and 6 sentences, each from three starting points.
FILLERS = tuple(" ".join(FILLER_SENTENCES[(start + i) % len(FILLER_SENTENCES)] for i in range(size))
                for size in (1, 2, 4, 6) for start in (0, 5, 9))


def one_typo(text: str) -> str:
    """text with two neighbouring letters swapped inside one word of four letters or more,
    chosen from the text itself, so the same text always gets the same typo."""
    rng = random.Random(text)
    words = text.split(" ")
    choices = [(w, i) for w, word in enumerate(words) for i in range(1, len(word) - 2)
               if len(word) >= 4 and word[i].isalpha() and word[i + 1].isalpha() and word[i] != word[i + 1]]
    if not choices:
        return text
    w, i = rng.choice(choices)
    word = words[w]
    words[w] = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return " ".join(words)


# ---------------------------------------------------------------------------------------------
# Templates and cases
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    capability: str
    template: str
    text: str
    expect: int | None = None     # label cases: 1 positive, 0 negative
    original: str | None = None   # invariant and direction cases: the text the variant is compared with
    direction: int = 0            # direction cases: +1 at least as positive as original, -1 at most
    held_out: bool = False

    @property
    def kind(self) -> str:
        return "label" if self.expect is not None else "direction" if self.direction else "invariant"


@dataclass(frozen=True)
class Template:
    id: str
    pattern: str
    slots: dict[str, tuple[str, ...]]
    expect: int | None = None
    variant: str | Callable[[str], str] | None = None   # a pattern over the same slots, or a function of the text
    direction: int = 0

    def fills(self) -> list[dict[str, str]]:
        """Every assignment of fillers to slots, in a seeded order, at most MAX_CASES_PER_TEMPLATE
        of them; slots filled from the same list (a name and the name swapped in) never get the
        same filler."""
        names = list(self.slots)
        same_list = [(a, b) for a, b in itertools.combinations(range(len(names)), 2)
                     if self.slots[names[a]] == self.slots[names[b]]]
        every = [dict(zip(names, values)) for values in itertools.product(*(self.slots[n] for n in names))
                 if all(values[a] != values[b] for a, b in same_list)]
        order = list(range(len(every)))
        random.Random(self.id).shuffle(order)
        return [every[i] for i in order[:MAX_CASES_PER_TEMPLATE]]

    def cases(self, capability: str, held_out: bool) -> list[Case]:
        out = []
        for fill in self.fills():
            text = self.pattern.format(**fill)
            if self.variant is None:
                out.append(Case(capability, self.id, text, expect=self.expect, held_out=held_out))
                continue
            variant = self.variant(text) if callable(self.variant) else self.variant.format(**fill)
            out.append(Case(capability, self.id, variant, original=text, direction=self.direction, held_out=held_out))
        return out


@dataclass(frozen=True)
class Capability:
    name: str
    checks: str
    templates: list[Template] = field(default_factory=list)

    def add(self, slug: str, pattern: str, expect: int | None = None, variant=None, direction: int = 0,
            **slots: tuple[str, ...]) -> None:
        self.templates.append(Template(f"{self.name}/{slug}", pattern, slots, expect, variant, direction))


def suite() -> list[Capability]:
    """The capabilities and their templates, in report order."""
    negated_positive = Capability("negated positive", "a negated positive word reads negative (\"not good\")")
    add = negated_positive.add
    add("bare", "not {adj}", 0, adj=POSITIVE)
    add("aspect", "The {aspect} {negation} {adj}.", 0, aspect=ASPECTS, negation=("is not", "isn't", "was not", "wasn't"),
        adj=POSITIVE)
    add("at-all", "This {work} was not {adj} at all.", 0, work=WORKS, adj=POSITIVE)
    add("didnt-think", "I didn't think the {work} was {adj}.", 0, work=WORKS, adj=POSITIVE)
    add("isnt-a", "It isn't a {adj} {work}.", 0, adj=POSITIVE, work=WORKS)
    add("verb", "I didn't {verb} the {work}.", 0, verb=("like", "enjoy", "love", "admire", "recommend"), work=WORKS)
    add("nothing", "Nothing about this {work} is {adj}.", 0, work=WORKS, adj=POSITIVE)
    add("never", "The {aspect} was never {adj}.", 0, aspect=ASPECTS, adj=POSITIVE)
    add("cant-say", "I can't say the {aspect} was {adj}.", 0, aspect=ASPECTS, adj=POSITIVE)
    add("anything-but", "This {work} is anything but {adj}.", 0, work=WORKS, adj=POSITIVE)

    negated_negative = Capability("negated negative", "a negated negative word reads positive (\"not bad\", "
                                                      "\"I wasn't disappointed.\")")
    add = negated_negative.add
    add("bare", "not {adj}", 1, adj=NEGATIVE)
    add("aspect", "The {aspect} {negation} {adj}.", 1, aspect=ASPECTS, negation=("is not", "isn't", "was not", "wasn't"),
        adj=NEGATIVE)
    add("its-not", "{lead} {adj}.", 1, lead=("It's not", "It is not", "It isn't", "It wasn't"), adj=NEGATIVE)
    add("feeling", "{lead} {feeling}.", 1, lead=("I wasn't", "I was not", "I was never", "At no point was I"),
        feeling=("disappointed", "bored", "let down", "annoyed", "bored for a second"))
    add("verb", "I didn't {verb} the {work}.", 1, verb=("hate", "dislike", "regret watching", "mind watching"), work=WORKS)
    add("never", "The {work} was never {adj}.", 1, work=WORKS, adj=NEGATIVE)
    add("not-a", "Not a {adj} {work} at all.", 1, adj=NEGATIVE, work=WORKS)
    add("nothing", "There was nothing {adj} about the {aspect}.", 1, adj=NEGATIVE, aspect=ASPECTS)
    add("no-complaints", "I have no {complaints} about this {work}.", 1,
        complaints=("complaints", "regrets", "problems", "issues"), work=WORKS)
    add("far-from", "This {work} is far from {adj}.", 1, work=WORKS, adj=NEGATIVE)

    contrast = Capability("contrast", "with but, yet or although, the deciding clause decides (\"Clumsy dialogue, yet "
                                      "the whole thing is oddly moving.\" -> positive)")
    add = contrast.add
    flaws = ("Clumsy dialogue", "A slow start", "Wooden acting", "A silly plot", "Cheap effects", "Some weak jokes")
    strengths = ("Gorgeous photography", "A great cast", "Lovely music", "A clever premise", "Fine acting",
                 "Beautiful sets")
    add("expected-bad", "I expected the {work} to be {bad}, but it was {good}.", 1, work=WORKS, bad=NEGATIVE, good=POSITIVE)
    add("yet-moving", "{flaw}, yet the whole thing is oddly {good}.", 1, flaw=flaws,
        good=("moving", "touching", "compelling", "charming", "satisfying", "enjoyable"))
    add("although-loved", "Although the {aspect} is {bad}, I {verb} the {work}.", 1, aspect=ASPECTS, bad=NEGATIVE,
        verb=("loved", "enjoyed", "liked", "admired"), work=WORKS)
    add("but-whole-good", "The {aspect} is {bad}, but the {work} as a whole is {good}.", 1, aspect=ASPECTS,
        bad=NEGATIVE, work=WORKS, good=POSITIVE)
    add("second-half-good", "The first half is {bad}, but the rest of the {work} is {good}.", 1, bad=NEGATIVE,
        work=WORKS, good=POSITIVE)
    add("expected-good", "I expected the {work} to be {good}, but it was {bad}.", 0, work=WORKS, good=POSITIVE, bad=NEGATIVE)
    add("yet-tedious", "{strength}, yet the whole thing is oddly {bad}.", 0, strength=strengths,
        bad=("tedious", "lifeless", "boring", "forgettable", "hollow", "exhausting"))
    add("although-hated", "Although the {aspect} is {good}, I {verb} the {work}.", 0, aspect=ASPECTS, good=POSITIVE,
        verb=("hated", "disliked", "regretted watching", "could not stand"), work=WORKS)
    add("but-whole-bad", "The {aspect} is {good}, but the {work} as a whole is {bad}.", 0, aspect=ASPECTS,
        good=POSITIVE, work=WORKS, bad=NEGATIVE)
    add("second-half-bad", "The first half is {good}, but the rest of the {work} is {bad}.", 0, good=POSITIVE,
        work=WORKS, bad=NEGATIVE)

    intensity = Capability("intensity", "an intensifier moves the score away from neutral and a downtoner towards it "
                                        "(\"very good\" at least as positive as \"good\")")
    add = intensity.add
    add("bare-up", "{adj}", variant="{word} {adj}", direction=1, word=INTENSIFIERS, adj=POSITIVE_GRADABLE)
    add("bare-down", "{adj}", variant="{word} {adj}", direction=-1, word=INTENSIFIERS, adj=NEGATIVE_GRADABLE)
    add("aspect-up", "The {aspect} is {adj}.", variant="The {aspect} is {word} {adj}.", direction=1, aspect=ASPECTS,
        word=INTENSIFIERS, adj=POSITIVE_GRADABLE)
    add("aspect-down", "The {aspect} is {adj}.", variant="The {aspect} is {word} {adj}.", direction=-1, aspect=ASPECTS,
        word=INTENSIFIERS, adj=NEGATIVE_GRADABLE)
    add("toned-positive", "The {work} is {adj}.", variant="The {work} is {word} {adj}.", direction=-1, work=WORKS,
        word=DOWNTONERS, adj=POSITIVE_GRADABLE)
    add("toned-negative", "The {work} is {adj}.", variant="The {work} is {word} {adj}.", direction=1, work=WORKS,
        word=DOWNTONERS, adj=NEGATIVE_GRADABLE)
    add("verb-up", "I {verb} this {work}.", variant="I {word} {verb} this {work}.", direction=1,
        word=("really", "truly", "genuinely", "thoroughly"), verb=("liked", "enjoyed", "loved", "admired"), work=WORKS)
    add("verb-down", "I {verb} this {work}.", variant="I {word} {verb} this {work}.", direction=-1,
        word=("really", "truly", "genuinely", "thoroughly"), verb=("disliked", "hated", "resented"), work=WORKS)

    comparatives = Capability("comparatives", "a comparison says which way (\"Better than the book.\" positive, "
                                              "\"Worse than the first one.\" negative)")
    add = comparatives.add
    add("better", "Better than the {ref}.", 1, ref=REFERENCES)
    add("much-better", "{degree} better than the {ref}.", 1, degree=("Much", "Far", "Even", "A lot", "Way"), ref=REFERENCES)
    add("aspect-better", "The {aspect} is {cmp} than in the {ref}.", 1, aspect=ASPECTS,
        cmp=("better", "funnier", "sharper", "stronger", "smarter"), ref=REFERENCES)
    add("than-expected-better", "This {work} is {cmp} than I expected.", 1, work=WORKS,
        cmp=("better", "funnier", "smarter", "more moving", "more exciting"))
    add("best", "One of the {best} {works} {period}.", 1, best=("best", "finest", "greatest"), works=WORKS_PLURAL,
        period=("I have seen", "of the year", "in years", "in a long time"))
    add("worse", "Worse than the {ref}.", 0, ref=REFERENCES)
    add("much-worse", "{degree} worse than the {ref}.", 0, degree=("Much", "Far", "Even", "A lot", "Way"), ref=REFERENCES)
    add("aspect-worse", "The {aspect} is {cmp} than in the {ref}.", 0, aspect=ASPECTS,
        cmp=("worse", "weaker", "duller", "sillier", "clumsier"), ref=REFERENCES)
    add("than-expected-worse", "This {work} is {cmp} than I expected.", 0, work=WORKS,
        cmp=("worse", "duller", "sillier", "more boring", "more tedious"))
    add("worst", "One of the {worst} {works} {period}.", 0, worst=("worst", "dumbest", "weakest"), works=WORKS_PLURAL,
        period=("I have seen", "of the year", "in years", "in a long time"))
    add("not-as-good", "{lead} good as the {ref}.", 0, lead=("Not as", "Nowhere near as", "Not nearly as", "Not quite as"),
        ref=REFERENCES)

    ratings = Capability("ratings", "a rating in words or numbers decides (\"10/10\", \"Four stars.\" positive; "
                                    "\"zero stars\", \"1 out of 10\" negative)")
    add = ratings.add
    high = ("10/10", "9/10", "8/10", "5/5", "4/5", "9.5/10", "4.5/5")
    low = ("0/10", "1/10", "2/10", "3/10", "0/5", "1/5", "1.5/10")
    add("bare-high", "{rating}", 1, rating=high)
    add("bare-low", "{rating}", 0, rating=low)
    add("give-high", "I give this {work} {rating}.", 1, work=WORKS, rating=high)
    add("give-low", "I give this {work} {rating}.", 0, work=WORKS, rating=low)
    add("out-of-ten-high", "{number} out of {ten}", 1, number=("8", "9", "10", "Eight", "Nine", "Ten"), ten=("10", "ten"))
    add("out-of-ten-low", "{number} out of {ten}", 0, number=("0", "1", "2", "Zero", "One", "Two"), ten=("10", "ten"))
    add("stars-high", "{stars}.", 1, stars=("Four stars", "Five stars", "4 stars", "5 stars", "Five stars out of five",
                                            "Four stars out of five", "Five stars, easily"))
    add("stars-low", "{stars}", 0, stars=("zero stars", "Zero stars.", "One star.", "1 star.", "Half a star.",
                                          "One star out of five.", "No stars."))
    add("verdict-high", "My rating for this {work}: {rating}.", 1, work=WORKS, rating=high + ("five stars", "four stars"))
    add("verdict-low", "My rating for this {work}: {rating}.", 0, work=WORKS, rating=low + ("zero stars", "one star"))

    sarcasm = Capability("sarcasm", "praise words used sarcastically read negative (\"Oh great, another two hours "
                                    "I'll never get back.\")")
    add = sarcasm.add
    add("never-get-back", "{oh}, another {time} I'll never get back.", 0,
        oh=("Oh great", "Oh wonderful", "Oh fantastic", "Wow, great", "Oh brilliant"),
        time=("two hours", "ninety minutes", "three hours", "evening", "afternoon"))
    add("way-to-waste", "Wow, what a {adj} way to waste an {time}.", 0,
        adj=("great", "wonderful", "brilliant", "fantastic", "lovely", "perfect"), time=("evening", "afternoon", "hour"))
    add("world-needed", "Yeah, because the world really needed another {thing}.", 0,
        thing=("superhero sequel", "remake", "vampire movie", "reboot", "found-footage film", "heist comedy",
               "origin story"))
    add("just-what-i-wanted", "{great}, just what I wanted: a {work} that {does}.", 0,
        great=("Great", "Wonderful", "Perfect", "Brilliant"), work=WORKS,
        does=("puts me to sleep", "goes nowhere", "never ends", "explains every joke"))
    add("thanks-for", "Thanks for the {time} of my life I'll never get back.", 0,
        time=("two hours", "ninety minutes", "three hours", "hundred minutes", "140 minutes"))
    add("if-you-enjoy", "A {adj} {work}, if you enjoy {activity}.", 0, adj=("great", "wonderful", "brilliant", "fantastic"),
        work=WORKS, activity=("staring at a wall", "watching paint dry", "waiting in line", "checking your watch"))
    add("loved-every-minute", "I {loved} every minute of {activity}.", 0, loved=("loved", "enjoyed", "savoured"),
        activity=("checking my watch", "waiting for the credits", "looking for the exit", "wondering when it would end"))
    add("best-nap", "{best} {nap} I've had all {period}.", 0, best=("Best", "Greatest", "Finest"),
        nap=("nap", "sleep", "snooze"), period=("year", "week", "month", "summer"))
    add("pigs-fly", "Sure, the {aspect} was {adj}. And pigs can fly.", 0, aspect=ASPECTS,
        adj=("great", "wonderful", "brilliant", "excellent", "superb"))

    invariance = Capability("names, places, typos", "the predicted label stays when a person's name or a city is "
                                                    "swapped or one typo is introduced")
    add = invariance.add
    either = POSITIVE + NEGATIVE
    add("name-performance", "{name} gives a {adj} performance in this {work}.",
        variant="{other} gives a {adj} performance in this {work}.", name=NAMES, other=NAMES, adj=either, work=WORKS)
    add("name-watched-with", "I watched this {work} with {name} and found it {adj}.",
        variant="I watched this {work} with {other} and found it {adj}.", work=WORKS, name=NAMES, other=NAMES, adj=either)
    add("name-new-work", "{name}'s new {work} is {adj}.", variant="{other}'s new {work} is {adj}.", name=NAMES,
        other=NAMES, work=WORKS, adj=either)
    add("city-shot-in", "The {work} was shot in {city} and it is {adj}.",
        variant="The {work} was shot in {other} and it is {adj}.", work=WORKS, city=CITIES, other=CITIES, adj=either)
    add("city-cinema", "I saw this {work} at a cinema in {city}. It was {adj}.",
        variant="I saw this {work} at a cinema in {other}. It was {adj}.", work=WORKS, city=CITIES, other=CITIES,
        adj=either)
    add("city-family", "A {adj} {work} about a family in {city}.", variant="A {adj} {work} about a family in {other}.",
        adj=either, work=WORKS, city=CITIES, other=CITIES)
    add("typo-aspect", "The {aspect} is {adj}.", variant=one_typo, aspect=ASPECTS, adj=either)
    add("typo-thought", "I thought this {work} was {adj}.", variant=one_typo, work=WORKS, adj=either)
    add("typo-friends", "My friends said the {work} was {adj}, and I agree.", variant=one_typo, work=WORKS, adj=either)

    length = Capability("length", "the predicted label stays when neutral sentences turn one sentence into a paragraph")
    add = length.add
    add("after-aspect", "The {aspect} is {adj}.", variant="The {aspect} is {adj}. {filler}", aspect=ASPECTS,
        adj=either, filler=FILLERS)
    add("before-thought", "I thought this {work} was {adj}.", variant="{filler} I thought this {work} was {adj}.",
        work=WORKS, adj=either, filler=FILLERS)
    add("before-short", "A {adj} {work}.", variant="{filler} A {adj} {work}.", adj=either, work=WORKS, filler=FILLERS)
    add("after-found", "I found the {work} {adj}.", variant="I found the {work} {adj}. {filler}", work=WORKS,
        adj=either, filler=FILLERS)
    add("around", "The {work} is {adj}.", variant="{opening} The {work} is {adj}. {closing}", work=WORKS, adj=either,
        opening=("I saw this last weekend.", "We went to the early showing.", "I rented it on a Sunday.",
                 "It came out a few years ago."),
        closing=("It runs about two hours.", "It is on most streaming services.", "I watched it with subtitles.",
                 "There is a scene after the credits."))
    add("verb-after", "I {verb} this {work}.", variant="I {verb} this {work}. {filler}",
        verb=("loved", "enjoyed", "liked", "hated", "disliked", "regretted"), work=WORKS, filler=FILLERS)

    return [negated_positive, negated_negative, contrast, intensity, comparatives, ratings, sarcasm, invariance, length]


def held_out_templates(capability: Capability, seed: int, fraction: float) -> set[str]:
    """The ids of the capability's held-out templates: those ranked first by sha256 of
    "<seed>:<id>", round(fraction x templates) of them, at least one and never all."""
    ranked = sorted((t.id for t in capability.templates),
                    key=lambda id_: hashlib.sha256(f"{seed}:{id_}".encode()).hexdigest())
    count = min(len(ranked) - 1, max(1, round(fraction * len(ranked))))
    return set(ranked[:count])


def build_cases(capabilities: list[Capability], seed: int = DEFAULT_SEED, fraction: float = DEFAULT_HELD_OUT,
                quick: bool = False) -> list[Case]:
    cases = []
    for capability in capabilities:
        held = held_out_templates(capability, seed, fraction)
        for template in capability.templates:
            made = template.cases(capability.name, template.id in held)
            cases += made[:QUICK_CASES_PER_TEMPLATE] if quick else made
    return cases


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
def score(cases: list[Case], scorer: Scorer) -> dict[str, float]:
    """P(positive) of every text the cases need, each text scored once."""
    texts = sorted({t for case in cases for t in (case.text, case.original) if t is not None})
    return dict(zip(texts, (float(s) for s in scorer(texts))))


def fails(case: Case, scores: dict[str, float]) -> bool:
    p = scores[case.text]
    if case.kind == "label":
        return int(p >= 0.5) != case.expect
    before = scores[case.original]
    if case.kind == "invariant":
        return (p >= 0.5) != (before >= 0.5)
    return case.direction * (p - before) < -TOLERANCE


def describe(case: Case, scores: dict[str, float]) -> dict:
    out = {"template": case.template, "kind": case.kind, "text": case.text, "score": round(scores[case.text], 4)}
    if case.kind == "label":
        out["expected"] = "positive" if case.expect else "negative"
    else:
        out.update(original=case.original, original_score=round(scores[case.original], 4))
        if case.kind == "direction":
            out["expected"] = "at least as positive" if case.direction > 0 else "at most as positive"
        else:
            out["expected"] = "same label"
    return out


def examples(cases: list[Case], scores: dict[str, float], count: int) -> list[dict]:
    """Up to count failures from the tuning part, one per template first, then more."""
    failed = [c for c in cases if not c.held_out and fails(c, scores)]
    seen: set[str] = set()
    first = [c for c in failed if not (c.template in seen or seen.add(c.template))]
    return [describe(c, scores) for c in (first + [c for c in failed if c not in first])[:count]]


def figures(capabilities: list[Capability], cases: list[Case], scored: dict[str, dict[str, float]],
            example_count: int = 3) -> dict:
    """Per capability and part: templates, cases, and each scorer's failure rate."""
    out = {}
    for capability in capabilities:
        mine = [c for c in cases if c.capability == capability.name]
        entry = {"checks": capability.checks}
        for part in PARTS:
            inside = [c for c in mine if c.held_out == (part == "held-out")]
            entry[part] = {"templates": len({c.template for c in inside}), "cases": len(inside)}
            for who, scores in scored.items():
                entry[part][who] = sum(fails(c, scores) for c in inside) / len(inside) if inside else None
        entry["examples"] = {who: examples(mine, scores, example_count) for who, scores in scored.items()}
        out[capability.name] = entry
    return out


# ---------------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------------
def model_scorer(model: str, workers: int) -> Scorer:
    from sentiment.evaluation.scoring import score_all
    from sentiment.models import resolve_model_dir
    from sentiment_model.artifact import load_predictor

    predictor = load_predictor(resolve_model_dir(model))
    return lambda texts: score_all(predictor, texts, workers, progress=False)


def fit_baseline(data: str) -> tuple[Scorer, int]:
    """The baseline as `sentiment baseline` fits it: on the model's training split of data."""
    from sentiment.data.prepare import split_validation
    from sentiment.data.reviews import load_reviews
    from sentiment.evaluation.baseline import SPLIT_SEED, VALIDATION_FRACTION, Baseline

    reviews = load_reviews(data, "train", progress=False)
    train_idx, _ = split_validation(reviews, VALIDATION_FRACTION, SPLIT_SEED)
    train = [reviews[i] for i in train_idx]
    print(f"fitting the baseline on {len(train):,} training reviews ...", file=sys.stderr)
    baseline = Baseline().fit([r.text for r in train], [r.label for r in train])
    return baseline.predict, len(train)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def rate(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_report(report: dict) -> str:
    lines = [f"behavioural tests of {report['model']}: {report['cases']:,} cases, seed {report['seed']}, "
             f"{rate(report['held_out_fraction'])} of each capability's templates held out"
             + (" (--quick subset)" if report["quick"] else ""),
             f"baseline: {report['baseline_note']}", "",
             f"{'capability':<22}{'part':<10}{'templates':>10}{'cases':>7}{'model':>9}{'baseline':>10}   (failure rate)"]
    for name, entry in report["capabilities"].items():
        for index, part in enumerate(PARTS):
            figures_ = entry[part]
            lines.append(f"{name if index == 0 else '':<22}{part:<10}{figures_['templates']:>10}{figures_['cases']:>7}"
                         f"{rate(figures_.get('model')):>9}{rate(figures_.get('baseline')):>10}")
    lines += ["", "example failures of the model (tuning part only):"]
    for name, entry in report["capabilities"].items():
        shown = entry["examples"].get("model", [])
        lines.append(f"  {name}: {'none' if not shown else ''}".rstrip())
        for example in shown:
            if example["kind"] == "label":
                lines.append(f"    {example['text']!r}: expected {example['expected']}, P(positive) {example['score']:.2f}")
            else:
                lines.append(f"    {example['original']!r} {example['original_score']:.2f} -> {example['text']!r} "
                             f"{example['score']:.2f}: expected {example['expected']}")
    lines.append(f"ran in {report['seconds']:.1f} s")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="model directory or model.tar.gz to test (default: models/default)")
    parser.add_argument("--data", help="labelled IMDb reviews (any review source) to fit the linear baseline on the "
                                       "model's training split; without it the baseline column is left out")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the first {QUICK_CASES_PER_TEMPLATE} cases of each template: a seconds-long run for CI")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed of the held-out split of templates (default: %(default)s)")
    parser.add_argument("--held-out", type=float, default=DEFAULT_HELD_OUT,
                        help="fraction of each capability's templates held out, between 0 and 1 (default: %(default)s)")
    parser.add_argument("--examples", type=int, default=3,
                        help="example failures shown per capability, tuning part only (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes scoring with the model (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and examples to this JSON file")
    return parser.parse_args(argv)


def shown_path(path: str) -> str:
    """path relative to the checkout where it lies inside it (models/default), else as given."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    capabilities = suite()
    cases = build_cases(capabilities, args.seed, args.held_out, args.quick)
    scored = {"model": score(cases, model_scorer(args.model, args.workers))}
    if args.data:
        fit_started = time.perf_counter()
        scorer, reviews = fit_baseline(args.data)
        scored["baseline"] = score(cases, scorer)
        note = (f"NB-weighted 1-3-gram logistic regression fitted on {reviews:,} training reviews of {args.data} "
                f"in {time.perf_counter() - fit_started:.0f} s")
    else:
        note = "not scored: no --data (give the IMDb reviews, e.g. --data ../shared/data/imdb, to fit it)"
    return {"model": shown_path(args.model), "seed": args.seed, "held_out_fraction": args.held_out, "quick": args.quick,
            "cases": len(cases), "baseline_note": note,
            "capabilities": figures(capabilities, cases, scored, args.examples),
            "seconds": time.perf_counter() - started}


def main(argv=None) -> int:
    from sentiment.data.reviews import SourceError
    from sentiment.models import ModelPathError
    from sentiment_model.artifact import ArtifactError

    args = parse_args(argv)
    if not 0 < args.held_out < 1:
        print(f"error: --held-out must be between 0 and 1, not {args.held_out}", file=sys.stderr)
        return 2
    if args.examples < 0 or args.workers < 1:
        print("error: --examples must be 0 or more and --workers 1 or more", file=sys.stderr)
        return 2
    try:
        report = run(args)
    except (SourceError, ModelPathError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
