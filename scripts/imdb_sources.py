"""Reading labelled IMDb reviews from every form users have them in.

A source is one of:
- the official archive URL (downloaded once into a cache, size and sha256 verified);
- a local ``aclImdb_v1.tar.gz``;
- an extracted ``aclImdb/`` folder (``<split>/pos/*.txt``, ``<split>/neg/*.txt``);
- a folder holding ``<split>.jsonl`` or ``<split>.jsonl.gz``, or one such file, with rows
  ``{"text": ..., "label": 0|1, "id": ...}``.

Every problem raises SourceError with one line naming the file and what is wrong.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
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
MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/([^/]+)\.txt$")


class SourceError(Exception):
    """A source that cannot be read; the message is one line naming the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class Review:
    text: str
    label: int
    id: str


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
    try:
        mode = "r:gz" if path.name.endswith(("gz", ".tgz")) else "r:*"
        with tarfile.open(path, mode) as archive:
            for member in archive:
                match = MEMBER.search(member.name)
                if not match or match.group(1) != split or not member.isfile():
                    continue
                raw = archive.extractfile(member).read()
                text = _decode(raw, f"{path}:{member.name}")
                reviews.append(Review(text, LABELS[match.group(2)], match.group(3)))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise SourceError(f"{path}: corrupt or unreadable archive ({error})") from None
    return _finish(reviews, str(path), split)


def read_folder(root: Path, split: str) -> list[Review]:
    base = root / split if (root / split).is_dir() else root / "aclImdb" / split
    if not (base / "pos").is_dir() or not (base / "neg").is_dir():
        raise SourceError(f"{root}: expected {split}/pos/ and {split}/neg/ folders of .txt reviews "
                          f"(the aclImdb layout)")
    reviews = []
    for folder, label in (("neg", 0), ("pos", 1)):
        for path in sorted((base / folder).glob("*.txt")):
            reviews.append(Review(_decode(path.read_bytes(), str(path)), label, path.stem))
    return _finish(reviews, str(base), split)


def read_jsonl(path: Path) -> list[Review]:
    opener = gzip.open if path.suffix == ".gz" else open
    reviews = []
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(_decode(raw, where))
                except json.JSONDecodeError as error:
                    raise SourceError(f"{where}: not valid JSON ({error.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise SourceError(f'{where}: expected an object with a "text" string')
                label = row.get("label")
                if label not in (0, 1):
                    raise SourceError(f'{where}: "label" must be 0 or 1, got {label!r}')
                reviews.append(Review(row["text"], label, str(row.get("id", number))))
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{path}: cannot be read ({error})") from None
    return _finish(reviews, str(path), "labelled")


def _canonical_order(review: Review) -> tuple:
    index, _, rating = review.id.partition("_")
    numeric = index.isdigit() and rating.isdigit()
    return (review.label, 0 if numeric else 1, int(index) if numeric else 0, review.id)


def load_reviews(source: str, split: str = "train", cache_dir: Path = DEFAULT_CACHE,
                 progress: bool = True) -> list[Review]:
    """Labelled reviews of one split ("train" or "test") from any supported source, in the
    dataset's canonical order (negative then positive, each by file index), whatever order the
    archive, folder or file lists them in."""
    return sorted(_load(source, split, cache_dir, progress), key=_canonical_order)


def _load(source: str, split: str, cache_dir: Path, progress: bool) -> list[Review]:
    if source.startswith(("http://", "https://")):
        return read_tarball(download(source, cache_dir, progress), split)
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"{path}: not found")
    if path.is_dir():
        for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
            if (path / name).is_file():
                return read_jsonl(path / name)
        return read_folder(path, split)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return read_jsonl(path)
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return read_tarball(path, split)
    raise SourceError(f"{path}: unknown source type (expected a URL, aclImdb_v1.tar.gz, an aclImdb/ "
                      f"folder or a .jsonl[.gz] file)")
