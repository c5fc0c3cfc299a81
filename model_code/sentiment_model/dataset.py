"""The processed dataset folder: exactly what the SageMaker ``training`` channel receives.

    manifest.json         format version, counts, source hashes, sha256 of every file below
    preprocessing.json    the TextSettings used (stopwords included)
    vocab.json            the word list; word i has id i + 2 (0 = padding, 1 = unknown word)
    <split>.ids.npy       every review's ids, concatenated (int32)
    <split>.offsets.npy   review i is ids[offsets[i]:offsets[i + 1]] (int64)
    <split>.labels.npy    1 = positive, 0 = negative (uint8)

Splits: train and validation (whole reviews), train_windows and validation_short (sentence
windows and snippets cut from them, labelled as their review; optional), train_rules and
validation_rules (negated and contrasted sentences built from them by rule, labelled by the
rule; optional).

The unlabelled reviews (the `unlabelled` channel) are a folder of their own:

    unlabelled.json       count and the sha256 of the vocab.json they were encoded with
    unlabelled.ids.npy, unlabelled.offsets.npy

Only .npy and .json files, loaded with allow_pickle=False.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
SPLITS = ("train", "validation")
UNLABELLED_META = "unlabelled.json"  # beside unlabelled.ids.npy and unlabelled.offsets.npy


class DatasetError(ValueError):
    """The folder is not a processed dataset this code can read."""


@dataclass
class EncodedSplit:
    ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def review(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index]: self.offsets[index + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_lists(cls, sequences: list[list[int]], labels: list[int]) -> EncodedSplit:
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in sequences])
        ids = np.fromiter((i for s in sequences for i in s), dtype=np.int32, count=int(offsets[-1]))
        return cls(ids=ids, offsets=offsets, labels=np.asarray(labels, dtype=np.uint8))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_dataset(folder: Path, splits: dict[str, EncodedSplit], vocabulary: list[str],
                 settings_json: dict, source: dict) -> dict:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in splits.items():
        np.save(folder / f"{name}.ids.npy", split.ids, allow_pickle=False)
        np.save(folder / f"{name}.offsets.npy", split.offsets, allow_pickle=False)
        np.save(folder / f"{name}.labels.npy", split.labels, allow_pickle=False)
    write_json(folder / "vocab.json", vocabulary)
    write_json(folder / "preprocessing.json", settings_json)
    files = sorted(p.name for p in folder.iterdir() if p.suffix in (".npy", ".json")
                   and p.name != "manifest.json")
    manifest = {
        "format_version": FORMAT_VERSION,
        "source": source,
        "splits": {
            name: {"reviews": len(split), "positive": int(split.labels.sum()),
                   "negative": int(len(split) - split.labels.sum()), "tokens": len(split.ids)}
            for name, split in splits.items()
        },
        "vocabulary_size": len(vocabulary) + 2,
        "vocabulary_sha256": sha256_file(folder / "vocab.json"),
        "files": {name: sha256_file(folder / name) for name in files},
    }
    write_json(folder / "manifest.json", manifest)
    return manifest


def load_dataset(folder: Path, verify: bool = True) -> tuple[dict[str, EncodedSplit], list[str], dict, dict]:
    """Returns (splits, vocabulary, preprocessing settings, manifest); raises DatasetError with a
    message naming the file when something is missing or does not match the manifest."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetError(f"{manifest_path}: not found; run `sentiment prepare` to create the dataset")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DatasetError(f"{manifest_path}: not valid JSON ({error})") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{manifest_path}: format_version {manifest.get('format_version')!r}, "
                           f"expected {FORMAT_VERSION}")
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{path}: listed in the manifest but missing")
        if verify and sha256_file(path) != expected:
            raise DatasetError(f"{path}: sha256 does not match the manifest (file changed or corrupt)")
    splits = {}
    for name in manifest.get("splits", {}):
        try:
            arrays = [np.load(folder / f"{name}.{part}.npy", allow_pickle=False)
                      for part in ("ids", "offsets", "labels")]
        except (OSError, ValueError) as error:
            raise DatasetError(f"{folder}/{name}.*.npy: cannot be read ({error})") from None
        splits[name] = EncodedSplit(*arrays)
    vocabulary = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    settings = json.loads((folder / "preprocessing.json").read_text(encoding="utf-8"))
    return splits, vocabulary, settings, manifest


def unlabelled_folder(training_folder) -> Path:
    """Where the unlabelled reviews of a training folder go: beside it, as <folder>-unlabelled."""
    return Path(f"{Path(training_folder)}-unlabelled")


def has_unlabelled(folder: Path) -> bool:
    return (Path(folder) / UNLABELLED_META).is_file()


def save_unlabelled(folder: Path, sequences: list[list[int]], vocabulary_sha256: str) -> int:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    split = EncodedSplit.from_lists(sequences, [0] * len(sequences))
    np.save(folder / "unlabelled.ids.npy", split.ids, allow_pickle=False)
    np.save(folder / "unlabelled.offsets.npy", split.offsets, allow_pickle=False)
    write_json(folder / UNLABELLED_META, {"format_version": FORMAT_VERSION, "reviews": len(split),
                                            "tokens": len(split.ids), "vocabulary_sha256": vocabulary_sha256})
    return len(split)


def load_unlabelled(folder: Path, manifest: dict) -> EncodedSplit:
    """The unlabelled reviews, checked to be encoded with the training folder's vocabulary."""
    folder = Path(folder)
    meta_path = folder / UNLABELLED_META
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path}: not found; `sentiment prepare` writes it where the source has unlabelled reviews")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("vocabulary_sha256") != manifest.get("vocabulary_sha256"):
        raise DatasetError(f"{meta_path}: encoded with another vocabulary than the training data; prepare both together")
    try:
        ids = np.load(folder / "unlabelled.ids.npy", allow_pickle=False)
        offsets = np.load(folder / "unlabelled.offsets.npy", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{folder}/unlabelled.*.npy: cannot be read ({error})") from None
    return EncodedSplit(ids=ids, offsets=offsets, labels=np.zeros(len(offsets) - 1, dtype=np.uint8))
