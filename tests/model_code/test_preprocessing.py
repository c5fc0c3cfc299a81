"""The text pipeline: seed mode must reproduce the original notebook's review_to_words token for
token; the default mode keeps what carries sentiment."""
import gzip
import json
import re
from itertools import islice

import pytest
from support import SHARED_DATA

from sentiment_model.preprocessing import Encoder, TextSettings, Tokenizer, build_vocabulary, strip_html

STOPWORDS_FILE = SHARED_DATA / "nltk_stopwords_english.txt"
TRICKY = [
    "This movie was <b>GREAT</b>!<br /><br />I'd watch it again... 10/10",
    "Worst. Film. Ever.<br/>Don't bother &amp; don't look back &lt;3",
    "R&B soundtrack &#8212; caf\u00e9 scenes, na\u00efve plot, 3<4 stars",
    "<i>Casablanca</i> it isn't<br>but the <a href='x'>cast</a> tries",
    "",
    "   ",
    "<br /><br />",
    "running runs ran easily fairly generously",
    "if a<b then it's <: not fine",
]


def original_review_to_words(review, stopword_list):
    """The original notebook's function, minus its per-review nltk.download (offline here) and
    with NLTK's stopword list read from the shared copy instead of NLTK's data folder."""
    from bs4 import BeautifulSoup
    from nltk.stem.porter import PorterStemmer

    text = BeautifulSoup(review, "html.parser").get_text()
    text = re.sub(r"[^a-zA-Z0-9]", " ", text.lower())
    words = text.split()
    words = [w for w in words if w not in stopword_list]
    return [PorterStemmer().stem(w) for w in words]


@pytest.fixture(scope="module")
def stopword_list():
    if not STOPWORDS_FILE.is_file():
        pytest.skip(f"{STOPWORDS_FILE} not available")
    return STOPWORDS_FILE.read_text().split()


def test_seed_mode_matches_the_original_on_markup_entities_and_stemming(stopword_list):
    tokenize = Tokenizer(TextSettings.seed(tuple(stopword_list)))
    for review in TRICKY:
        assert tokenize(review) == original_review_to_words(review, stopword_list), review


def test_seed_mode_matches_the_original_on_real_imdb_reviews(stopword_list):
    source = SHARED_DATA / "imdb" / "train.jsonl.gz"
    if not source.is_file():
        pytest.skip("shared IMDb data not available")
    tokenize = Tokenizer(TextSettings.seed(tuple(stopword_list)))
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        # Every 25th review, plus every review with markup other than <br /> or an entity.
        rows = [json.loads(line) for line in islice(handle, 25000)]
    sample = [r["text"] for i, r in enumerate(rows)
              if i % 25 == 0 or "&" in r["text"] or "<" in re.sub(r"<br\s*/?>", "", r["text"])]
    assert len(sample) > 2000
    mismatches = [t for t in sample if tokenize(t) != original_review_to_words(t, stopword_list)]
    assert mismatches == []


def test_default_mode_keeps_negations_and_contractions():
    tokens = Tokenizer(TextSettings())("I didn't like it.<br /><br />NOT good, not at all")
    assert tokens == ["i", "didn't", "like", "it", "not", "good", "not", "at", "all"]


def test_default_mode_separates_words_at_tags_and_decodes_entities():
    assert Tokenizer(TextSettings())("end.<br />The R&amp;D <i>team</i>") == ["end", "the", "r", "d", "team"]
    assert strip_html("a&amp;b") == "a&b"


def test_default_mode_keeps_non_ascii_words():
    assert Tokenizer(TextSettings())("Caf\u00e9 CR\u00c8ME br\u00fbl\u00e9e \u2019s") == ["caf\u00e9", "cr\u00e8me", "br\u00fbl\u00e9e", "s"]


def test_settings_round_trip_through_json():
    settings = TextSettings.seed(("a", "the"))
    assert TextSettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings


def test_bad_settings_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="'seed' or 'default'"):
        TextSettings(mode="fancy")


def test_vocabulary_is_ranked_by_frequency_then_alphabetically():
    vocabulary = build_vocabulary([["b", "a", "c"], ["c", "b"], ["c"]], vocab_size=4)
    assert vocabulary == ["c", "b"]


def test_encoder_maps_unknown_words_to_one_and_keeps_head_and_tail():
    settings = TextSettings(max_tokens=4, truncation="head_tail")
    encoder = Encoder(settings, ["good", "bad"])
    assert encoder.encode("good zebra bad") == [2, 1, 3]
    assert encoder.truncate([10, 11, 12, 13, 14, 15]) == [10, 11, 14, 15]
    head_only = Encoder(TextSettings(max_tokens=2, truncation="head"), ["good"])
    assert head_only.encode("good good zebra") == [2, 2]
