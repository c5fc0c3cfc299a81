"""Texts built by rule from training reviews (sentiment.data.rules): the lexicon they rest on,
the negated minimal pairs and the contrasts, with the labels the rules give them."""
from __future__ import annotations

import json
import random

import numpy as np
from support import write_jsonl

from sentiment.data import prepare as prepare_data
from sentiment.data.reviews import Review
from sentiment.data.rules import (
    CONTRASTS,
    FAINT_PRAISE,
    clear_sentences,
    contrast_texts,
    negation_texts,
    polarity_lexicon,
    rule_texts,
    verdicts,
)

POSITIVE_WORDS = ("wonderful", "superb", "moving")
NEGATIVE_WORDS = ("terrible", "boring", "awful")
SUBJECTS = ("The acting", "The score", "The ending", "Her performance", "The script", "The camera work")


def review_rows(count: int, seed: int = 0) -> list[dict]:
    """Reviews of three sentences: a neutral one, a verdict "<subject> was <word>." that leans
    the review's way, and a closing neutral one; faint praise and an adverb in negative ones."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = index % 2
        word = rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS)
        extra = "" if label else " The sets were decent. It moved slowly."
        text = (f"I saw this film on a rainy evening with my brother. {rng.choice(SUBJECTS)} was {word}."
                f"{extra} We talked about it on the way home.")
        rows.append({"text": text, "label": label, "id": f"{index}_{9 if label else 1}"})
    return rows


def reviews(count: int = 400) -> list[Review]:
    return [Review(row["text"], row["label"], row["id"]) for row in review_rows(count)]


def test_the_lexicon_learns_polar_predicates_and_leaves_out_faint_praise_and_adverbs():
    lexicon = polarity_lexicon(reviews())
    assert {word: lexicon.polar[word] for word in POSITIVE_WORDS + NEGATIVE_WORDS} == {
        "wonderful": 1, "superb": 1, "moving": 1, "terrible": 0, "boring": 0, "awful": 0}
    # "decent" closes a predicate only in negative reviews, but negating it praises nothing.
    assert "decent" in FAINT_PRAISE and "decent" not in lexicon.polar
    assert not any(word.endswith("ly") for word in lexicon.polar)


def test_a_negated_verdict_takes_the_other_label_and_the_original_keeps_its_own():
    lexicon = polarity_lexicon(reviews())
    found = verdicts([Review("The acting was terrible. It rained.", 0, "1_2")], lexicon)
    assert [(v.text, v.word, v.label) for v in found] == [("The acting was terrible.", "terrible", 0)]
    texts = {r.id.rsplit(":", 1)[1]: r for r in negation_texts(found, random.Random(3))}
    assert texts["original"].text == "The acting was terrible." and texts["original"].label == 0
    assert texts["negated"].label == 1
    assert texts["negated"].text in ("The acting was not terrible.", "The acting wasn't terrible.",
                                     "The acting was never terrible.", "The acting was far from terrible.")
    assert texts["negated-clause"].label == 1 and texts["clause"].label == 0
    assert texts["fragment"].text.startswith(("Not terrible", "Never terrible", "Far from terrible"))
    assert texts["fragment"].label == 1


def test_hardly_turns_round_only_praise():
    lexicon = polarity_lexicon(reviews())
    found = verdicts([Review("The acting was superb.", 1, "1_9"), Review("The acting was terrible.", 0, "2_1")] * 40,
                     lexicon)
    made = negation_texts(found, random.Random(11))
    hardly = [r for r in made if "hardly" in r.text.lower()]
    assert hardly and all("superb" in r.text and r.label == 0 for r in hardly)


def test_sentences_that_already_negate_or_contrast_or_lean_against_their_review_are_not_verdicts():
    lexicon = polarity_lexicon(reviews())
    skipped = [Review("The acting was not terrible.", 1, "a"), Review("The plot is thin, but the acting was superb.", 1, "b"),
               Review("The acting wasn't superb.", 0, "c"), Review("The acting was superb.", 0, "d"),
               Review("The acting was superb and the script was terrible.", 1, "e")]
    assert verdicts(skipped, lexicon) == []


def test_in_a_contrast_the_clause_the_connective_favours_decides_the_label():
    clauses = [Review("The acting was superb.", 1, "p"), Review("The script was terrible.", 0, "n")]
    made = contrast_texts(clauses, 200, random.Random(5))
    assert len(made) == 200 and {r.label for r in made} == {0, 1}
    for text in made:
        decisive = "superb" if text.label else "terrible"
        conceded = "terrible" if text.label else "superb"
        assert decisive in text.text and conceded in text.text
        # After "but", "yet", "however" or a leading "although"/"though" the decisive clause comes
        # last; before a trailing "although"/"even though" it comes first.
        trailing = ", although " in text.text or ", even though " in text.text
        assert (text.text.index(decisive) < text.text.index(conceded)) == trailing, text.text
    assert {pattern for pattern in CONTRASTS} >= {"{a}, but {b}.", "{B}, although {a}."}


def test_clear_sentences_lean_their_reviews_way_and_rule_texts_are_seeded():
    lexicon = polarity_lexicon(reviews())
    clear = clear_sentences(reviews(), lexicon)
    texts = {r.text for r in clear}
    # The verdicts are clear; the sentences that lean nowhere are not.
    assert "The acting was superb." in texts and "The acting was terrible." in texts
    assert not any(text.startswith(("I saw this film", "We talked")) for text in texts)
    first, again = rule_texts(reviews(), lexicon, seed=7), rule_texts(reviews(), lexicon, seed=7)
    assert first == again and len(first) > 0
    kinds = {r.id.split(":")[1] for r in first}
    assert kinds == {"negation", "contrast"}


def test_prepare_writes_the_rule_splits_and_can_leave_them_out(tmp_path):
    source = tmp_path / "imdb"
    write_jsonl(source / "train.jsonl.gz", review_rows(400))
    write_jsonl(source / "test.jsonl.gz", review_rows(20, seed=1))
    assert prepare_data.main(["--source", str(source), "--out", str(tmp_path / "with"), "--workers", "1",
                              "--quiet", "--no-unlabelled"]) == 0
    splits = json.loads((tmp_path / "with" / "manifest.json").read_text())["splits"]
    assert splits["train_rules"]["reviews"] > 0 and splits["validation_rules"]["reviews"] > 0
    labels = np.load(tmp_path / "with" / "train_rules.labels.npy")
    assert set(labels.tolist()) == {0, 1}
    assert prepare_data.main(["--source", str(source), "--out", str(tmp_path / "without"), "--workers", "1",
                              "--quiet", "--no-unlabelled", "--rules", "false"]) == 0
    splits = json.loads((tmp_path / "without" / "manifest.json").read_text())["splits"]
    assert "train_rules" not in splits and "validation_rules" not in splits
