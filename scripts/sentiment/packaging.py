"""Deterministic packaging: the same tree always gives the same bytes and hash, and a model
folder becomes the model.tar.gz SageMaker serves.

SageMaker wants gzipped tarballs (`sourcedir.tar.gz` for training code, `model.tar.gz` for a
model), and CDK names file assets by their content hash, so an unchanged folder must produce an
identical archive: entries sorted, timestamps, owners and permissions fixed, gzip without a
timestamp.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from sentiment_model.bundle import write_serving_code

IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".DS_Store"}
IGNORED_SUFFIXES = (".pyc", ".pyo")


def tree_files(root: Path) -> list[Path]:
    """Files under root that ship, as sorted relative paths."""
    root = Path(root)
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part in IGNORED_NAMES for part in relative.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if path.is_file():
            found.append(relative)
    return sorted(found, key=lambda p: p.as_posix())


def tree_hash(root: Path) -> str:
    """sha256 over every shipped file's relative path and content."""
    digest = hashlib.sha256()
    for relative in tree_files(root):
        digest.update(relative.as_posix().encode() + b"\0")
        with open(Path(root) / relative, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def write_tarball(root: Path, destination: Path) -> Path:
    """Writes root's shipped files to destination (.tar.gz), byte-for-byte reproducibly."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative in tree_files(root):
            data = (Path(root) / relative).read_bytes()
            info = tarfile.TarInfo(relative.as_posix())
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
        zipped.write(buffer.getvalue())
    return destination


# ---------------------------------------------------------------------------------------------
# model.tar.gz: a model folder holds data (weights, config, vocabulary, figures); the serving
# code is added here, from model_code/, whenever an archive is built.
# ---------------------------------------------------------------------------------------------

def build_model_archive(model: Path, destination: Path) -> Path:
    """model.tar.gz from a model folder: its files (any code/ in it is replaced) plus code/ from
    model_code/. An existing model.tar.gz is returned as it is (a training job's output already
    holds its code)."""
    model = Path(model)
    if model.is_file():
        return model
    if not (model / "model.pt").is_file():
        raise FileNotFoundError(f"{model}: not a model folder (no model.pt)")
    with tempfile.TemporaryDirectory(prefix="model-archive-") as staging:
        staging = Path(staging)
        for relative in tree_files(model):
            if relative.parts[0] == "code":
                continue
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model / relative, staging / relative)
        settings = json.loads((model / "preprocessing.json").read_text()) if (model / "preprocessing.json").is_file() else {}
        write_serving_code(staging, settings)
        return write_tarball(staging, destination)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build model.tar.gz (the model folder's files plus code/ from "
                                                 "model_code/), as the CDK asset and the local stack use it.")
    parser.add_argument("model", help="a model folder (e.g. models/default)")
    parser.add_argument("--out", default="build/model.tar.gz", help="archive to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        path = build_model_archive(Path(args.model), Path(args.out))
    except FileNotFoundError as error:
        print(f"error: {error}")
        return 2
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0
