"""Review text -> tokens -> ids, driven entirely by a JSON-serialisable settings object.

Two modes:
- ``seed``: token-for-token the pipeline of the original notebook (BeautifulSoup's html.parser
  text, lower-case, every character outside [a-zA-Z0-9] becomes a space, NLTK's English stopwords
  dropped, NLTK's Porter stemmer), 5,000 ids, 500 tokens.
- ``default``: the project's pipeline, chosen on the validation split: HTML tags and entities
  removed, case-folded Unicode words with apostrophes kept ("don't" stays one token), no stopword
  removal (negations carry sentiment), no stemming, a larger vocabulary, head and tail of long
  reviews kept.

Settings, stopwords and vocabulary travel inside the model artifact, so serving applies exactly
what training saw and never downloads anything.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from html import unescape
from html.parser import HTMLParser

PAD_ID = 0
UNKNOWN_ID = 1
FIRST_WORD_ID = 2

SEED_TOKEN_SPLIT = re.compile(r"[^a-zA-Z0-9]")
# Words of letters/digits, optionally joined by apostrophes: "don't", "director's".
DEFAULT_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
SEED_TOKEN = re.compile(r"[a-zA-Z0-9]+")
# Wide enough to hold every character reference html.unescape decodes at that "&".
CHARACTER_REFERENCE = re.compile(r"&[^\t\n\f <&;]+;?")


# Function words that carry no sentiment on their own, written for this project. Negations
# ("not", "no", "nor", "never", "n't" forms) and contrast words ("but", "very", "too", "only")
# are deliberately absent: they flip or scale the sentiment of what follows.
FUNCTION_WORDS = (
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as",
    "into", "about", "this", "that", "these", "those", "it", "its", "it's", "is", "are", "was",
    "were", "be", "been", "being", "am", "i", "me", "my", "we", "our", "you", "your", "he", "him",
    "his", "she", "her", "they", "them", "their", "there", "here", "which", "who", "whom", "what",
    "when", "where", "while", "then", "than", "so", "if", "has", "have", "had", "do", "does",
    "did", "will", "would", "can", "could", "should", "br", "s", "i'm", "i've", "i'd", "he's",
    "she's", "they're", "we're", "you're", "that's", "there's", "one", "also", "just", "some",
    "any", "all", "up", "out", "over", "after", "before", "again", "because", "how", "why",
)


@dataclass(frozen=True)
class TextSettings:
    mode: str = "default"
    vocab_size: int = 30000
    max_tokens: int = 400
    # "head" keeps the first max_tokens; "head_tail" keeps the first and the last halves, where
    # reviews usually state their verdict.
    truncation: str = "head_tail"
    stem: bool = False
    stopwords: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.mode not in ("seed", "default"):
            raise ValueError(f"text mode must be 'seed' or 'default', got {self.mode!r}")
        if self.truncation not in ("head", "head_tail"):
            raise ValueError(f"truncation must be 'head' or 'head_tail', got {self.truncation!r}")
        if self.vocab_size < FIRST_WORD_ID + 1 or self.max_tokens < 1:
            raise ValueError("vocab_size must be > 2 and max_tokens > 0")

    def to_json(self) -> dict:
        data = asdict(self)
        data["stopwords"] = list(self.stopwords)
        return data

    @classmethod
    def from_json(cls, data: dict) -> TextSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["stopwords"] = tuple(known.get("stopwords", ()))
        return cls(**known)

    @classmethod
    def seed(cls, stopwords: tuple[str, ...]) -> TextSettings:
        return cls(mode="seed", vocab_size=5000, max_tokens=500, truncation="head", stem=True,
                   stopwords=tuple(stopwords))


class _TextExtractor(HTMLParser):
    """Collects the text between tags, entities decoded; every tag becomes a space so that
    "end.<br />The" still separates words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs) -> None:
        self.parts.append(" ")

    def handle_endtag(self, tag) -> None:
        self.parts.append(" ")


def strip_html(text: str) -> str:
    """Markup-free text of a review (the default pipeline's HTML rule)."""
    if "<" not in text and "&" not in text:
        return text
    if "&" not in text and "<" not in BREAK_TAG.sub("", text):
        return BREAK_TAG.sub(" ", text)
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return "".join(extractor.parts)


class _TracedTextExtractor(_TextExtractor):
    """The same pieces of text, each with where it starts in the review and what it is: "tag"
    (the space or nothing a tag becomes), "verbatim" (script or style content, passed as it is)
    or "decoded" (text whose character references were decoded)."""

    def __init__(self, tag_text: str) -> None:
        super().__init__()
        self.tag_text = tag_text
        self.origins: list[tuple[tuple[int, int], str]] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.origins.append((self.getpos(), "verbatim" if getattr(self, "cdata_elem", None) else "decoded"))

    def handle_starttag(self, tag, attrs) -> None:
        self.parts.append(self.tag_text)
        self.origins.append((self.getpos(), "tag"))

    def handle_endtag(self, tag) -> None:
        self.handle_starttag(tag, ())


def _trace_pieces(review: str, pieces, starts: list[int], ends: list[int]) -> bool:
    """Appends, for every character of the pieces, the [start, end) of the review characters it
    came from; False when a piece does not match the review where the parser said it began."""
    for text, position, kind in pieces:
        if kind == "tag":
            starts.extend([position] * len(text))
            ends.extend([position] * len(text))
            continue
        index = 0
        while index < len(text):
            if kind == "decoded" and review.startswith("&", position):
                reference = CHARACTER_REFERENCE.match(review, position)
                raw = reference.group() if reference else "&"
                decoded = unescape(raw)
                if decoded != raw and text.startswith(decoded, index):
                    # "&ampx" decodes to "&x": the tail that survived maps one to one, the head to
                    # the reference it replaced.
                    kept = 0
                    while kept < len(decoded) - 1 and raw[-1 - kept] == decoded[-1 - kept]:
                        kept += 1
                    reference_end = position + len(raw) - kept
                    for offset in range(len(decoded)):
                        if offset < len(decoded) - kept:
                            starts.append(position)
                            ends.append(reference_end)
                        else:
                            starts.append(reference_end + offset - (len(decoded) - kept))
                            ends.append(starts[-1] + 1)
                    index += len(decoded)
                    position += len(raw)
                    continue
            if position >= len(review) or review[position] != text[index]:
                return False
            starts.append(position)
            ends.append(position + 1)
            index += 1
            position += 1
    return True


def traced_markup_free_text(review: str, tag_text: str = " ") -> tuple[str, list[int], list[int]] | None:
    """The review without markup (strip_html's text with tag_text=" ", the seed pipeline's with
    tag_text=""), and for each of its characters the [start, end) of the review's characters it
    came from: a decoded "&amp;" maps to all five. None when the two cannot be lined up."""
    if "<" not in review and "&" not in review:
        return review, list(range(len(review))), list(range(1, len(review) + 1))
    pieces = []
    if "&" not in review and "<" not in BREAK_TAG.sub("", review):
        cursor = 0
        for tag in BREAK_TAG.finditer(review):
            pieces += [(review[cursor: tag.start()], cursor, "verbatim"), (tag_text, tag.start(), "tag")]
            cursor = tag.end()
        pieces.append((review[cursor:], cursor, "verbatim"))
    else:
        extractor = _TracedTextExtractor(tag_text)
        extractor.feed(review)
        extractor.close()
        line_starts = [0]
        for line in review.split("\n")[:-1]:
            line_starts.append(line_starts[-1] + len(line) + 1)
        pieces = [(text, line_starts[line - 1] + column, kind)
                  for text, ((line, column), kind) in zip(extractor.parts, extractor.origins)]
    starts: list[int] = []
    ends: list[int] = []
    if not _trace_pieces(review, pieces, starts, ends):
        return None
    return "".join(text for text, _, _ in pieces), starts, ends


def _fold_with_origins(text: str, fold) -> tuple[str, list[int] | None]:
    """fold(text) (str.lower or str.casefold) and, for each of its characters, the index of the
    text character it came from; None for the identity (no character changed length)."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded, None
    origins = []
    for index, character in enumerate(text):
        origins.extend([index] * len(fold(character)))
    return folded, origins


def _seed_html_text(text: str) -> str:
    """BeautifulSoup(text, "html.parser").get_text(), with the same answer computed directly for
    the common cases (no markup, or only <br /> tags and no entities)."""
    if "<" not in text and "&" not in text:
        return text
    if "&" not in text and "<" not in BREAK_TAG.sub("", text):
        return BREAK_TAG.sub("", text)
    from bs4 import (
        BeautifulSoup,  # only seed-mode models list beautifulsoup4 as a requirement
    )

    return BeautifulSoup(text, "html.parser").get_text()


class Tokenizer:
    """Turns raw review text into the token list a model was trained on."""

    def __init__(self, settings: TextSettings) -> None:
        self.settings = settings
        self._stopwords = frozenset(settings.stopwords)
        self._stem_cache: dict[str, str] = {}
        self._stemmer = None
        if settings.stem:
            from nltk.stem.porter import PorterStemmer  # needs no NLTK data files

            self._stemmer = PorterStemmer()

    def _stem(self, word: str) -> str:
        stemmed = self._stem_cache.get(word)
        if stemmed is None:
            stemmed = self._stemmer.stem(word)
            if len(self._stem_cache) < 500_000:
                self._stem_cache[word] = stemmed
        return stemmed

    def __call__(self, review: str) -> list[str]:
        if self.settings.mode == "seed":
            words = SEED_TOKEN_SPLIT.sub(" ", _seed_html_text(review).lower()).split()
        else:
            words = DEFAULT_TOKEN.findall(strip_html(review).casefold().replace("\u2019", "'"))
        if self._stopwords:
            words = [w for w in words if w not in self._stopwords]
        if self._stemmer is not None:
            words = [self._stem(w) for w in words]
        return words

    def spans(self, review: str) -> list[tuple[str, int, int]] | None:
        """The tokens of __call__, each with the [start, end) of the review's characters it was
        read from, so a weight per token can be shown on the visitor's own words. None when the
        review's markup cannot be lined up with its text (then the tokens would not match)."""
        seed = self.settings.mode == "seed"
        traced = traced_markup_free_text(review, "" if seed else " ")
        if traced is None:
            return None
        text, starts, ends = traced
        folded, origins = _fold_with_origins(text, str.lower if seed else str.casefold)
        pattern = SEED_TOKEN if seed else DEFAULT_TOKEN
        if not seed:
            folded = folded.replace("\u2019", "'")
        spans = []
        for match in pattern.finditer(folded):
            first, last = match.start(), match.end() - 1
            if origins is not None:
                first, last = origins[first], origins[last]
            spans.append((match.group(), starts[first], ends[last]))
        if self._stopwords:
            spans = [span for span in spans if span[0] not in self._stopwords]
        if self._stemmer is not None:
            spans = [(self._stem(word), start, end) for word, start, end in spans]
        if [word for word, _, _ in spans] != self(review):
            return None
        return spans


def build_vocabulary(token_lists, vocab_size: int) -> list[str]:
    """The vocab_size - 2 most frequent words; ties broken alphabetically so it is reproducible.
    Index i of the returned list is word id i + FIRST_WORD_ID."""
    from collections import Counter

    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, _ in ranked[: vocab_size - FIRST_WORD_ID]]


class Encoder:
    """Tokens -> ids with the model's vocabulary and truncation rule."""

    def __init__(self, settings: TextSettings, vocabulary: list[str]) -> None:
        self.settings = settings
        self.tokenizer = Tokenizer(settings)
        self.word_ids = {word: i + FIRST_WORD_ID for i, word in enumerate(vocabulary)}

    def truncate(self, ids: list[int]) -> list[int]:
        limit = self.settings.max_tokens
        if len(ids) <= limit:
            return ids
        if self.settings.truncation == "head":
            return ids[:limit]
        head = (limit + 1) // 2
        return ids[:head] + ids[len(ids) - (limit - head):]

    def encode_tokens(self, tokens: list[str]) -> list[int]:
        get = self.word_ids.get
        return self.truncate([get(w, UNKNOWN_ID) for w in tokens])

    def encode(self, review: str) -> list[int]:
        return self.encode_tokens(self.tokenizer(review))

    def encode_with_spans(self, review: str) -> tuple[list[int], list[tuple[int, int]] | None]:
        """encode(review), and beside each id the [start, end) of the review's characters it
        stands for (None when the markup cannot be lined up with the text)."""
        spans = self.tokenizer.spans(review)
        if spans is None:
            return self.encode(review), None
        get = self.word_ids.get
        ids = self.truncate([get(word, UNKNOWN_ID) for word, _, _ in spans])
        return ids, self.truncate([(start, end) for _, start, end in spans])
