"""Reviews a visitor can craft to make reading them expensive: each shape is a unit repeated up to
a size limit. Once they cost seconds to minutes of CPU (unclosed tags re-scanned by an HTML
parser, sentence splitting quadratic in the number of full stops); `sentiment fuzz` holds each
to a time limit and `sentiment bench-local --hostile` sends some while ordinary visitors wait.
Imports nothing heavy."""
from __future__ import annotations

UNICODE_SPACES = "".join(character for character in map(chr, range(0x3001)) if character.isspace())
# name -> the unit repeated to make a review of that shape
CRAFTED_SHAPES = {
    "unclosed start tags": "<a ",
    "lone '<'": "<",
    "nested tags": "<b><i><p>",
    "end tags without '>'": "</",
    "unclosed comments": "<!--",
    "processing instructions": "<?",
    "bogus declarations": "<!x ",
    "marked sections": "<![CDATA[",
    "open attribute quotes": "<a x='",
    "tags cut by NUL": "<a\x00",
    "script without end": "<script>",
    "entities": "&amp;&#39;&#x2014;&eacute;",
    "unfinished entities": "&#x&a",
    "line breaks": "<br />",
    "initials": "a. ",
    "abbreviations": "Mr. ",
    "ellipses": "...",
    "full stops": ".",
    "mixed closers": "!?\u2026\") ",
    "one long word": "a",
    "apostrophes": "a'",
    "unicode whitespace": "x" + UNICODE_SPACES,
    "combining marks": "e\u0301\u0308\u20dd",
    "mixed scripts": "Кино 映画 فيلم ταινία 영화 film ",
}


def crafted(units, length: int) -> str:
    """The units in turn, repeated to exactly length characters."""
    unit = "".join(units)
    return (unit * (length // len(unit) + 1))[:length]
