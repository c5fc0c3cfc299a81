"""The one reader of reviews, for every form the project accepts them in.

A source is one of:
- the official archive URL (downloaded once into a cache, size and sha256 verified);
- a local ``aclImdb_v1.tar.gz``;
- an extracted ``aclImdb/`` folder (``<split>/pos/*.txt``, ``<split>/neg/*.txt``);
- a folder holding ``<split>.jsonl`` or ``<split>.jsonl.gz`` (the shared JSON-lines copy);
- a file: ``.jsonl``/``.ndjson`` (a JSON string or ``{"text"|"review": ..., "label"?, "id"?}`` per
  line), ``.csv`` (a header row with a text or review column, optional label and id columns) or
  ``.txt`` (one review per line), each optionally gzipped.

read_reviews() gives them in the source's order with labels where there are any;
load_reviews() gives one labelled split in the dataset's canonical order (training, evaluation).
Every problem raises SourceError with one line naming the file and what is wrong.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Published size and sha256 of aclImdb_v1.tar.gz (the same values are used by TensorFlow
# Datasets' imdb_reviews checksums).
OFFICIAL_SIZE = 84_125_825
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sentiment-on-sagemaker"
LABELS = {"neg": 0, "pos": 1}
LABEL_WORDS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
TEXT_COLUMNS = ("review", "text")
LABEL_COLUMNS = ("label", "sentiment")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/([^/]+)\.txt$")
# The 50,000 unlabelled reviews: train/unsup/ in the archive and folder, unsup.jsonl[.gz] in the
# JSON-lines copy. Asked for as the split "unsup".
UNLABELLED = "unsup"


def default_source() -> str:
    """The shared JSON-lines copy of IMDb where this machine has one, else the official archive."""
    from sentiment.paths import SHARED_IMDB

    return str(SHARED_IMDB) if (SHARED_IMDB / "train.jsonl.gz").is_file() else OFFICIAL_URL


class SourceError(Exception):
    """A source that cannot be read; the message is one line naming the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class Review:
    text: str
    label: int | None = None   # 0 negative, 1 positive, None where the source has no label
    id: str | None = None


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(f"{where}: not valid UTF-8 text (byte {error.start})") from None


def _finish(reviews: list[Review], where: str, split: str) -> list[Review]:
    if not reviews:
        raise SourceError(f"{where}: no {split} reviews found")
    return reviews


def download(url: str = OFFICIAL_URL, cache_dir: Path = DEFAULT_CACHE, progress: bool = True) -> Path:
    """The archive at url, from the cache when a verified copy is there."""
    if not url.startswith(("https://", "http://")):
        raise SourceError(f"{url}: only http(s) URLs are downloaded")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / url.rsplit("/", 1)[-1]
    official = url == OFFICIAL_URL
    if target.is_file() and (not official or _verify(target)):
        return target
    partial = target.with_suffix(target.suffix + ".part")
    try:
        # Bandit B310 warns of file:// and custom schemes; only http(s) reaches here.
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:  # nosec B310
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {target.name}",
                      disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise SourceError(f"{url}: download failed ({error})") from None
    if official and not _verify(partial):
        partial.unlink(missing_ok=True)
        raise SourceError(f"{url}: downloaded file does not have the published size/sha256")
    partial.rename(target)
    return target


def _verify(path: Path) -> bool:
    if path.stat().st_size != OFFICIAL_SIZE:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == OFFICIAL_SHA256


def read_tarball(path: Path, split: str) -> list[Review]:
    reviews = []
    # (split folder, label folder) pairs to read: the unlabelled reviews sit in train/unsup/.
    wanted = {("train", UNLABELLED)} if split == UNLABELLED else {(split, folder) for folder in LABELS}
    try:
        mode = "r:gz" if path.name.endswith(("gz", ".tgz")) else "r:*"
        with tarfile.open(path, mode) as archive:
            for member in archive:
                match = MEMBER.search(member.name)
                if not match or not member.isfile() or match.group(1, 2) not in wanted:
                    continue
                raw = archive.extractfile(member).read()
                text = _decode(raw, f"{path}:{member.name}")
                reviews.append(Review(text, LABELS.get(match.group(2)), match.group(3)))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise SourceError(f"{path}: corrupt or unreadable archive ({error})") from None
    return _finish(reviews, str(path), split)


def read_folder(root: Path, split: str) -> list[Review]:
    if split == UNLABELLED:
        base = root / "train" if (root / "train").is_dir() else root / "aclImdb" / "train"
        if not (base / UNLABELLED).is_dir():
            raise SourceError(f"{root}: expected a train/unsup/ folder of unlabelled .txt reviews (the aclImdb layout)")
        paths = sorted((base / UNLABELLED).glob("*.txt"))
        return _finish([Review(_decode(p.read_bytes(), str(p)), None, p.stem) for p in paths], str(base), split)
    base = root / split if (root / split).is_dir() else root / "aclImdb" / split
    if not (base / "pos").is_dir() or not (base / "neg").is_dir():
        raise SourceError(f"{root}: expected {split}/pos/ and {split}/neg/ folders of .txt reviews "
                          f"(the aclImdb layout)")
    reviews = []
    for folder, label in (("neg", 0), ("pos", 1)):
        for path in sorted((base / folder).glob("*.txt")):
            reviews.append(Review(_decode(path.read_bytes(), str(path)), label, path.stem))
    return _finish(reviews, str(base), split)


def parse_label(value, where: str) -> int | None:
    """0/1, "0"/"1", "neg"/"pos" or "negative"/"positive"; None or "" for no label."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SourceError(f"{where}: label must be 0, 1, negative or positive, got {value!r}")
    label = LABEL_WORDS.get(str(value).strip().lower())
    if label is None:
        raise SourceError(f"{where}: label must be 0, 1, negative or positive, got {value!r}")
    return label


def checked_text(value, where: str) -> str:
    if not isinstance(value, str):
        raise SourceError(f"{where}: the review must be a string, got {type(value).__name__}")
    if not value.strip():
        raise SourceError(f"{where}: the review is empty")
    return value


def _open_text(path: Path):
    # The caller closes the wrapper (and so the file) with `with`.
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _lines(path: Path):
    """(line number, line) pairs, with read problems turned into one-line SourceErrors."""
    try:
        with _open_text(path) as handle:
            number = 0
            for number, line in enumerate(handle, start=1):
                yield number, line
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}:{number + 1}: not valid UTF-8 text (byte {error.start})") from None
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{path}: cannot be read ({error})") from None


def read_json_lines(path: Path) -> list[Review]:
    items = []
    for number, line in _lines(path):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SourceError(f"{where}: not valid JSON ({error.msg})") from None
        if isinstance(row, str):
            items.append(Review(checked_text(row, where)))
            continue
        if not isinstance(row, dict) or not ({"text", "review"} & row.keys()):
            raise SourceError(f'{where}: expected a JSON string or an object with "text" or "review"')
        text = row["text"] if "text" in row else row["review"]
        identifier = row.get("id")
        items.append(Review(checked_text(text, where), parse_label(row.get("label"), where),
                          None if identifier is None else str(identifier)))
    return items


def read_csv(path: Path, text_column: str | None, label_column: str | None) -> list[Review]:
    csv.field_size_limit(sys.maxsize)
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise SourceError(f"{path}: empty file (expected a header row)")
            columns = {name.strip().lower(): index for index, name in enumerate(header)}

            def column(wanted: str | None, defaults: tuple[str, ...], required: bool) -> int | None:
                for name in ((wanted,) if wanted else defaults):
                    if name.lower() in columns:
                        return columns[name.lower()]
                if required or wanted:
                    raise SourceError(f"{path}: no {' or '.join((wanted,) if wanted else defaults)} column "
                                      f"(the header has {', '.join(header) or 'nothing'})")
                return None

            text_at = column(text_column, TEXT_COLUMNS, required=True)
            label_at = column(label_column, LABEL_COLUMNS, required=False)
            id_at = columns.get("id")
            items = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                where = f"{path}:{reader.line_num}"
                if len(row) != len(header):
                    raise SourceError(f"{where}: {len(row)} fields, the header has {len(header)}")
                items.append(Review(checked_text(row[text_at], where),
                                  parse_label(row[label_at], where) if label_at is not None else None,
                                  row[id_at] if id_at is not None else None))
            return items
    except csv.Error as error:
        raise SourceError(f"{path}: not valid CSV ({error})") from None
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}: not valid UTF-8 text (byte {error.start})") from None
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{path}: cannot be read ({error})") from None


def read_text_lines(path: Path) -> list[Review]:
    return [Review(line.rstrip("\r\n")) for _, line in _lines(path) if line.strip()]


def read_reviews(source: str, split: str = "test", text_column: str | None = None,
                 label_column: str | None = None, progress: bool = False,
                 cache_dir: Path = DEFAULT_CACHE) -> list[Review]:
    """The reviews in source, in its order; SourceError (one line) for anything unreadable."""
    if not source.startswith(("http://", "https://")):
        path = Path(source).expanduser()
        if not path.exists():
            raise SourceError(f"{path}: not found")
        name = path.name.lower().removesuffix(".gz")
        if path.is_file() and name.endswith(JSON_LINES_SUFFIXES):
            items = read_json_lines(path)
        elif path.is_file() and name.endswith(".csv"):
            items = read_csv(path, text_column, label_column)
        elif path.is_file() and name.endswith(".txt"):
            items = read_text_lines(path)
        elif path.is_dir() or path.name.lower().endswith((".tar.gz", ".tgz", ".tar")):
            items = None
        else:
            raise SourceError(f"{path}: unknown input type (expected .jsonl, .ndjson, .csv or .txt, "
                              f"optionally .gz, an aclImdb/ folder or aclImdb_v1.tar.gz)")
        if items is not None:
            if not items:
                raise SourceError(f"{path}: no reviews found")
            return items
    return sorted(_load_imdb(source, split, cache_dir, progress), key=_canonical_order)


def _canonical_order(review: Review) -> tuple:
    index, _, rating = review.id.partition("_")
    numeric = index.isdigit() and rating.isdigit()
    return (-1 if review.label is None else review.label, 0 if numeric else 1, int(index) if numeric else 0, review.id)


def load_reviews(source: str, split: str = "train", cache_dir: Path = DEFAULT_CACHE,
                 progress: bool = True) -> list[Review]:
    """Labelled reviews of one split ("train" or "test") from any source, in the dataset's
    canonical order (negative then positive, each by file index), whatever order the archive,
    folder or file lists them in."""
    reviews = read_reviews(source, split, progress=progress, cache_dir=cache_dir)
    for number, review in enumerate(reviews, start=1):
        if review.label is None:
            raise SourceError(f"{source}: review {review.id or number} has no label (0 or 1); "
                              "training and evaluation need labelled reviews")
    return sorted(reviews, key=_canonical_order)


def load_unlabelled(source: str, cache_dir: Path = DEFAULT_CACHE, progress: bool = True) -> list[Review]:
    """The unlabelled reviews of an IMDb source (archive, folder or JSON-lines copy), in index
    order; SourceError when the source has none."""
    return read_reviews(source, UNLABELLED, progress=progress, cache_dir=cache_dir)


def _load_imdb(source: str, split: str, cache_dir: Path, progress: bool) -> list[Review]:
    """The archive (URL or file) or a folder: aclImdb/ layout or <split>.jsonl[.gz] inside."""
    if source.startswith(("http://", "https://")):
        return read_tarball(download(source, cache_dir, progress), split)
    path = Path(source).expanduser()
    if path.is_dir():
        for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
            if (path / name).is_file():
                return _finish(read_json_lines(path / name), str(path / name), "labelled")
        return read_folder(path, split)
    return read_tarball(path, split)
