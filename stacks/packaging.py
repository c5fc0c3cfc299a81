"""Deterministic packaging of local folders: the same tree always gives the same bytes and hash.

SageMaker wants gzipped tarballs (`sourcedir.tar.gz` for training code, `model.tar.gz` for a
model), and CDK names file assets by their content hash, so an unchanged folder must produce an
identical archive: entries sorted, timestamps, owners and permissions fixed, gzip without a
timestamp.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from aws_cdk import Stage
from constructs import Construct

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


def packaging_dir(scope: Construct) -> Path:
    """Where archives are built before CDK stages them: inside the cloud assembly, so they go
    when cdk.out does."""
    return Path(Stage.of(scope).outdir) / "packaging"


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
