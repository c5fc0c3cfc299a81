"""Deterministic packaging: an unchanged folder gives an unchanged archive, hence an unchanged
CDK asset and no retraining."""
from __future__ import annotations

import os
import tarfile
import time

from sentiment.packaging import tree_hash, write_tarball


def make_tree(root):
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "pkg" / "model.py").write_text("x = 1\n")
    return root


def test_the_same_tree_packs_to_identical_bytes_whenever_and_wherever_it_is_written(tmp_path):
    first = write_tarball(make_tree(tmp_path / "a"), tmp_path / "one.tar.gz").read_bytes()
    time.sleep(1.1)
    copy = make_tree(tmp_path / "b")
    os.utime(copy / "train.py", (0, 0))

    assert write_tarball(copy, tmp_path / "two.tar.gz").read_bytes() == first


def test_bytecode_caches_are_left_out(tmp_path):
    root = make_tree(tmp_path / "src")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")

    with tarfile.open(write_tarball(root, tmp_path / "out.tar.gz")) as archive:
        assert archive.getnames() == ["pkg/model.py", "train.py"]


def test_tree_hash_ignores_caches_but_not_content(tmp_path):
    root = make_tree(tmp_path / "src")
    before = tree_hash(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert tree_hash(root) == before

    (root / "train.py").write_text("print('train harder')\n")
    assert tree_hash(root) != before
