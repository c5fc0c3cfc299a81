"""Accept a model as users have it: an unpacked model directory or a model.tar.gz."""
from __future__ import annotations

import atexit
import shutil
import tarfile
import tempfile
from pathlib import Path


class ModelPathError(ValueError):
    """The path is neither a model directory nor a readable model.tar.gz."""


def resolve_model_dir(path: str | Path) -> Path:
    """The model directory for path; a tarball is unpacked into a temporary folder that is
    removed when the process exits."""
    path = Path(path).expanduser()
    if path.is_dir():
        if not (path / "model.pt").is_file():
            raise ModelPathError(f"{path}: not a model directory (no model.pt)")
        return path
    if not path.exists():
        raise ModelPathError(f"{path}: not found")
    if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise ModelPathError(f"{path}: expected a model directory or a model.tar.gz")
    target = Path(tempfile.mkdtemp(prefix="sentiment-model-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    try:
        with tarfile.open(path, "r:*") as archive:
            archive.extractall(target, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ModelPathError(f"{path}: corrupt or unreadable archive ({error})") from None
    if not (target / "model.pt").is_file():
        raise ModelPathError(f"{path}: the archive has no model.pt at its top level")
    return target
