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

import functools
import re
from dataclasses import asdict, dataclass, field
from html import unescape

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


# ---------------------------------------------------------------------------------------------
# Markup
# ---------------------------------------------------------------------------------------------
# The reviews were read, for training, by the standard library's HTMLParser (default mode) and by
# BeautifulSoup on top of it (seed mode). That parser re-reads the rest of the review at every
# unclosed construct ("<a <a <a ...", "<!--<!--...", "</</</..."), so a crafted review of 20,000
# characters cost seconds and one of 100,000 minutes. _markup_events reproduces what
# HTMLParser.feed(review) then close() reports (Python 3.11's rules, whatever Python runs it),
# in one pass: every search for a closing ">", "-->" or "]]>" resumes where the previous one
# stopped, and a start tag is read no further than the first ">" after it (or the next "<" when
# there is none), so no character is read more than a fixed number of times. It differs from
# HTMLParser in three cases only, and the ids and offsets of all 50,000 labelled IMDb reviews are
# the same as before: a ">" inside a quoted attribute value ends the tag; "<" and a letter with
# no ">" anywhere after them is text up to the next "<" (HTMLParser read on across it, and where
# it then stopped at a character such as NUL, left the references in that stretch undecoded);
# and "<![" followed by anything but a known keyword, which made HTMLParser raise, is text.
STARTTAG_OPEN = re.compile("<[a-zA-Z]")
TAG_NAME = re.compile(r"([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*")
ATTRIBUTE = re.compile(
    r"((?<=['\"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|\"[^\"]*\"|(?!['\"])[^>\s]*))?(?:\s|/(?!>))*")
STARTTAG_END = re.compile(r"""
  <[a-zA-Z][^\t\n\r\f />\x00]*       # tag name
  (?:[\s/]*                          # optional whitespace before attribute name
    (?:(?<=['"\s/])[^\s/>][^\s/=>]*  # attribute name
      (?:\s*=+\s*                    # value indicator
        (?:'[^']*'                   # LITA-enclosed value
          |"[^"]*"                   # LIT-enclosed value
          |(?!['"])[^>\s]*           # bare value
         )
        \s*                          # possibly followed by a space
       )?(?:\s|/(?!>))*
     )*
   )?
  \s*                                # trailing whitespace
""", re.VERBOSE)
ENDTAG = re.compile(r"</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>")
COMMENT_CLOSE = re.compile(r"--\s*>")
SECTION_CLOSE = re.compile(r"]\s*]\s*>")
CONDITIONAL_SECTION_CLOSE = re.compile(r"]\s*>")
DECLARATION_NAME = re.compile(r"[a-zA-Z][-_.a-zA-Z0-9]*\s*")
TEXT_END = re.compile("[&<]")
ENTITY_REFERENCE = re.compile("&([a-zA-Z][-.a-zA-Z0-9]*)[^a-zA-Z0-9]")
NUMERIC_REFERENCE = re.compile("&#(?:[0-9]+|[xX][0-9a-fA-F]+)[^0-9a-fA-F]")
INCOMPLETE_REFERENCE = re.compile("&[a-zA-Z#]")
VERBATIM_END = {name: re.compile(r"</\s*%s\s*>" % name, re.IGNORECASE) for name in ("script", "style")}


class _Ahead:
    """find(position) -> the (start, end) of what it looks for at or after position, or None,
    remembered: a search that found its match at start answers every position up to start, and
    one that found nothing every later position, so a scan whose positions grow reads the text
    once."""

    def __init__(self, find) -> None:
        self._find = find
        self._from = -1
        self._found = None
        self._searched = False

    def __call__(self, position: int):
        if not (self._searched and self._from <= position
                and (self._found is None or position <= self._found[0])):
            self._searched, self._from = True, position
            self._found = self._find(position)
        return self._found


def _searcher(text: str, pattern) -> _Ahead:
    if isinstance(pattern, str):
        def find(position):
            index = text.find(pattern, position)
            return None if index < 0 else (index, index + len(pattern))
    else:
        def find(position):
            found = pattern.search(text, position)
            return None if found is None else (found.start(), found.end())
    return _Ahead(find)


def _markup_events(text: str, decode_references: bool = True) -> list[tuple]:
    """What HTMLParser(convert_charrefs=decode_references).feed(text) then close() hands its
    handlers, as (event, value, position) in order:

        ("data", text, position, origin)   origin "decoded" (references decoded when asked) or
                                           "verbatim" (inside <script> or <style>)
        ("starttag" | "endtag" | "startendtag", name, position)
        ("comment" | "decl" | "unknown_decl" | "pi", content, position)
        ("charref" | "entityref", name, position)       only without decode_references
    """
    return _MarkupScanner(text, decode_references).run()


class _MarkupScanner:
    """One pass over text for _markup_events. Every search for a closing ">", "-->" or "]]>"
    resumes where the last one stopped (_searcher), so no part of the text is read twice."""

    def __init__(self, text: str, decode_references: bool) -> None:
        self.text, self.n, self.decode_references = text, len(text), decode_references
        self.next_gt = _searcher(text, ">")
        self.next_semicolon = _searcher(text, ";")
        self.comment_close = _searcher(text, COMMENT_CLOSE)
        self.section_close = _searcher(text, SECTION_CLOSE)
        self.conditional_section_close = _searcher(text, CONDITIONAL_SECTION_CLOSE)
        self.events: list[tuple] = []
        self.verbatim = None  # inside <script> or <style>: (its name, the pattern of its end tag)
        # HTMLParser.feed stops at the first construct it cannot finish yet and close() starts
        # again from there, so the first such stop is not the end (it matters for "&#" without
        # a number).
        self.feeding = True

    def run(self) -> list[tuple]:
        text, n, i = self.text, self.n, 0
        while i < n:
            j = self.text_end(i)
            if j is None:
                break  # an unclosed <script> or <style>: the rest is dropped
            if i < j:
                self.data(text[i:j], i)
            i = j
            if i == n:
                break
            if text[i] == "<":
                k = self.markup(i)
                stop = k is None
                i = i if stop else k
            else:
                i, stop = self.reference(i)
            if stop:
                break
        if i < n and self.verbatim is None:
            self.data(text[i:], i)
        return self.events

    def text_end(self, i: int) -> int | None:
        """Where the text that starts at i ends (None: inside an element that never ends)."""
        if self.verbatim is not None:
            found = self.verbatim[1].search(self.text, i)
            return None if found is None else found.start()
        if self.decode_references:
            j = self.text.find("<", i)
            return self.n if j < 0 else j
        found = TEXT_END.search(self.text, i)
        return self.n if found is None else found.start()

    def data(self, piece: str, position: int, raw: bool = False) -> None:
        if self.verbatim is not None:
            self.events.append(("data", piece, position, "verbatim"))
        else:
            decoded = self.decode_references and not raw
            self.events.append(("data", unescape(piece) if decoded else piece, position, "decoded"))

    def markup(self, i: int) -> int | None:
        """The construct that starts with "<" at i; where the scan goes on (None: stop)."""
        text = self.text
        if STARTTAG_OPEN.match(text, i):
            k = self.start_tag(i)
        elif text.startswith("</", i):
            k = self.end_tag(i)
        elif text.startswith("<!--", i):
            k = self.closed_by(i, self.comment_close, 4, "comment")
        elif text.startswith("<?", i):
            k = self.closed_by(i, self.next_gt, 2, "pi")
        elif text.startswith("<!", i):
            k = self.declaration(i)
        elif i + 1 < self.n:
            self.data("<", i, raw=True)
            k = i + 1
        else:
            return None
        if k < 0:
            # Unfinished: close() takes it as text up to the next ">", or the next "<".
            self.feeding = False
            gt = self.next_gt(i + 1)
            if gt is not None:
                k = gt[1]
            else:
                k = text.find("<", i + 1)
                k = i + 1 if k < 0 else k
            self.data(text[i:k], i)
        return k

    def reference(self, i: int) -> tuple[int, bool]:
        """The "&" at i (references are kept apart only without decode_references): where the
        scan goes on, and whether it stops there."""
        text = self.text
        if text.startswith("&#", i):
            found = NUMERIC_REFERENCE.match(text, i)
            if found:
                self.events.append(("charref", found.group()[2:-1], i))
                return (found.end() if found.group().endswith(";") else found.end() - 1), False
            if self.next_semicolon(i) is not None:
                self.data("&#", i, raw=True)
                i += 2
            if not self.feeding:
                return i, True
            self.feeding = False
            return i, False
        found = ENTITY_REFERENCE.match(text, i)
        if found:
            self.events.append(("entityref", found.group(1), i))
            return (found.end() if found.group().endswith(";") else found.end() - 1), False
        found = INCOMPLETE_REFERENCE.match(text, i)
        if found:
            if not self.feeding:
                return (i + 1 if found.end() == self.n else i), True
            self.feeding = False
            return i, False
        if i + 1 < self.n:
            self.data("&", i, raw=True)
            return i + 1, False
        return i, True

    def start_tag(self, i: int) -> int:
        text = self.text
        gt = self.next_gt(i)
        if gt is not None:
            limit = gt[1]
        else:
            lt = text.find("<", i + 1)
            limit = self.n if lt < 0 else lt
        j = STARTTAG_END.match(text, i, limit).end()
        following = text[j: j + 1] if j < limit else ""
        if following == ">":
            end = j + 1
        elif following == "/":
            if not text.startswith("/>", j):
                return -1
            end = j + 2
        elif following == "" or following in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ=":
            return -1
        else:
            end = j if j > i else i + 1
        name = TAG_NAME.match(text, i + 1, end)
        k = name.end()
        while k < end:
            attribute = ATTRIBUTE.match(text, k, end)
            if not attribute:
                break
            k = attribute.end()
        closing = text[k:end].strip()
        tag = name.group(1).lower()
        if closing not in (">", "/>"):
            self.data(text[i:end], i, raw=True)
        elif closing.endswith("/>"):
            self.events.append(("startendtag", tag, i))
        else:
            self.events.append(("starttag", tag, i))
            if tag in VERBATIM_END:
                self.verbatim = (tag, VERBATIM_END[tag])
        return end

    def end_tag(self, i: int) -> int:
        text = self.text
        gt = self.next_gt(i + 1)
        if gt is None:
            return -1
        end = gt[1]
        found = ENDTAG.match(text, i, end)
        if not found:
            if self.verbatim is not None:
                self.data(text[i:end], i)
                return end
            name = TAG_NAME.match(text, i + 2, end)
            if not name:
                if text.startswith("</>", i):
                    return i + 3
                self.events.append(("comment", text[i + 2: gt[0]], i))
                return end
            self.events.append(("endtag", name.group(1).lower(), i))
            return end
        tag = found.group(1).lower()
        if self.verbatim is not None and tag != self.verbatim[0]:
            self.data(text[i:end], i)
            return end
        self.events.append(("endtag", tag, i))
        self.verbatim = None
        return end

    def closed_by(self, i: int, search, skip: int, event: str) -> int:
        found = search(i + skip)
        if found is None:
            return -1
        self.events.append((event, self.text[i + skip: found[0]], i))
        return found[1]

    def declaration(self, i: int) -> int:
        text = self.text
        if text.startswith("<![", i):
            if i + 3 == self.n:
                return -1
            name = DECLARATION_NAME.match(text, i + 3)
            if not name or name.end() == self.n:
                return -1
            keyword = name.group().strip().lower()
            if keyword in ("temp", "cdata", "ignore", "include", "rcdata"):
                return self.closed_by(i, self.section_close, 3, "unknown_decl")
            if keyword in ("if", "else", "endif"):
                return self.closed_by(i, self.conditional_section_close, 3, "unknown_decl")
            return -1
        if text[i: i + 9].lower() == "<!doctype":
            found = self.next_gt(i + 9)
            if found is None:
                return -1
            self.events.append(("decl", text[i + 2: found[0]], i))
            return found[1]
        return self.closed_by(i, self.next_gt, 2, "comment")


def _markup_pieces(review: str, tag_text: str) -> list[tuple[str, int, str]]:
    """The pieces of the review's text as (text, where it starts, what it is): "tag" (tag_text,
    which each start and end tag becomes, so that "end.<br />The" still separates words),
    "verbatim" (script or style content, as it is) or "decoded" (text with its character
    references decoded)."""
    pieces = []
    for event in _markup_events(review):
        kind = event[0]
        if kind == "data":
            pieces.append((event[1], event[2], event[3]))
        elif kind in ("starttag", "endtag"):
            pieces.append((tag_text, event[2], "tag"))
        elif kind == "startendtag":
            pieces += [(tag_text, event[2], "tag")] * 2
    return pieces


# One request reads the same review several times (for its score, its words' offsets and its
# sentences): the texts of the last few reviews are kept.
@functools.lru_cache(maxsize=8)
def strip_html(text: str) -> str:
    """Markup-free text of a review (the default pipeline's HTML rule)."""
    if "<" not in text and "&" not in text:
        return text
    if "&" not in text and "<" not in BREAK_TAG.sub("", text):
        return BREAK_TAG.sub(" ", text)
    return "".join(piece for piece, _, _ in _markup_pieces(text, " "))


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
        pieces = _markup_pieces(review, tag_text)
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


def _seed_numeric_reference(number: str) -> str:
    """The character BeautifulSoup (4.13 and later) reads for "&#<number>;" (number as the
    parser hands it on: digits, or "x" and hex digits): the HTML standard's rule, with the C1
    controls read as the Windows-1252 characters they usually stand for."""
    from bs4.dammit import UnicodeDammit

    code = int(number[1:], 16) if number[:1] in "xX" else int(number)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if 0x80 <= code <= 0x9F and code in UnicodeDammit.WINDOWS_1252_TO_UTF8:
        return UnicodeDammit.WINDOWS_1252_TO_UTF8[code].decode("utf8")
    return chr(code)


@functools.lru_cache(maxsize=8)
def _seed_html_text(text: str) -> str:
    """BeautifulSoup(text, "html.parser").get_text(), computed in one pass: the strings of the
    parsed tree in order, less comments, declarations, processing instructions and the content of
    the elements BeautifulSoup keeps apart (script, style, template, rt, rp); a string of ASCII
    whitespace alone outside <pre> and <textarea> becomes one space or one newline."""
    if "<" not in text and "&" not in text:
        return text
    if "&" not in text and "<" not in BREAK_TAG.sub("", text):
        return BREAK_TAG.sub("", text)
    # Only seed-mode models list beautifulsoup4 as a requirement; its tables decode references
    # exactly as it did when the seed model was trained.
    from bs4.builder import HTMLTreeBuilder
    from bs4.dammit import EntitySubstitution

    text_of = _SeedText(HTMLTreeBuilder, EntitySubstitution.HTML_ENTITY_TO_CHARACTER)
    for event in _markup_events(text, decode_references=False):
        text_of.read(*event[:2])
    text_of.end_string()
    return "".join(text_of.parts)


class _SeedText:
    """The tree BeautifulSoup's html.parser builder would build from the markup events, kept only
    as deep as get_text() needs: which elements are open, and the strings in order."""

    def __init__(self, builder, entities: dict[str, str]) -> None:
        self.kept_apart = builder.DEFAULT_STRING_CONTAINERS.keys()
        self.void = builder.DEFAULT_EMPTY_ELEMENT_TAGS
        self.whitespace_kept_in = builder.DEFAULT_PRESERVE_WHITESPACE_TAGS
        self.entities = entities
        self.parts: list[str] = []
        self.string: list[str] = []
        self.open_tags: list[str] = []
        self.depths: dict[str, list[int]] = {}  # tag name -> where in open_tags each open one is
        self.apart = self.whitespace_kept = 0  # open elements of those kinds
        self.closed_voids: dict[str, int] = {}  # "<br>" without "/": a later "</br>" is ignored once

    def read(self, kind: str, value: str) -> None:
        if kind == "data":
            self.string.append(value)
        elif kind == "charref":
            self.string.append(_seed_numeric_reference(value))
        elif kind == "entityref":
            self.string.append(self.entities.get(value, "&" + value))
        elif kind == "endtag" and self.closed_voids.get(value):
            self.closed_voids[value] -= 1  # ignored: not even the string before it ends
        else:
            self.end_string()
            if kind == "starttag":
                self.push(value)
                if value in self.void:
                    self.pop_to(value)
                    self.closed_voids[value] = self.closed_voids.get(value, 0) + 1
            elif kind == "startendtag":
                self.push(value)
                self.pop_to(value)
            elif kind == "endtag":
                self.pop_to(value)
            elif kind == "unknown_decl" and value.upper().startswith("CDATA["):
                self.string.append(value[len("CDATA["):])
                self.end_string(kept=True)  # a CDATA section is text wherever it is

    def end_string(self, kept: bool = False) -> None:
        if self.string:
            piece = "".join(self.string)
            self.string.clear()
            if not self.whitespace_kept and not piece.strip(" \n\t\f\r"):
                piece = "\n" if "\n" in piece else " "
            if kept or not self.apart:
                self.parts.append(piece)

    def push(self, name: str) -> None:
        self.depths.setdefault(name, []).append(len(self.open_tags))
        self.open_tags.append(name)
        self.apart += name in self.kept_apart
        self.whitespace_kept += name in self.whitespace_kept_in

    def pop_to(self, name: str) -> None:
        if not self.depths.get(name):
            return
        while True:
            popped = self.open_tags.pop()
            self.depths[popped].pop()
            self.apart -= popped in self.kept_apart
            self.whitespace_kept -= popped in self.whitespace_kept_in
            if popped == name:
                return


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
        if origins is None:
            spans = [(match.group(), starts[match.start()], ends[match.end() - 1]) for match in pattern.finditer(folded)]
        else:
            spans = [(match.group(), starts[origins[match.start()]], ends[origins[match.end() - 1]])
                     for match in pattern.finditer(folded)]
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
