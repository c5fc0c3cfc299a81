"""The one model resolver: accept a model as users have it, an unpacked model folder or a
model.tar.gz (unpacked into a temporary folder)."""
from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path


class ModelPathError(ValueError):
    """The path is neither a model folder nor a readable model.tar.gz."""


def unpack_model(path: str | Path) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """The model folder for path, and the temporary folder holding it when path is an archive
    (the caller cleans it up). Raises ModelPathError with one line saying what is wrong."""
    path = Path(path).expanduser()
    if path.is_dir():
        if not (path / "model.pt").is_file():
            raise ModelPathError(f"{path}: not a model directory (no model.pt)")
        return path, None
    if not path.exists():
        raise ModelPathError(f"{path}: no such model directory or model.tar.gz")
    if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise ModelPathError(f"{path}: expected a model directory or a model.tar.gz")
    unpacked = tempfile.TemporaryDirectory(prefix="sentiment-model-")
    try:
        with tarfile.open(path, "r:*") as archive:
            archive.extractall(unpacked.name, filter="data")  # refuses absolute paths and ../
    except (tarfile.TarError, EOFError, OSError) as error:
        unpacked.cleanup()
        raise ModelPathError(f"{path}: corrupt or unreadable archive ({error})") from None
    if not (Path(unpacked.name) / "model.pt").is_file():
        unpacked.cleanup()
        raise ModelPathError(f"{path}: the archive has no model.pt at its top level")
    return Path(unpacked.name), unpacked


# Archives unpacked by resolve_model_dir: held here so their folders live as long as the process.
_UNPACKED: list[tempfile.TemporaryDirectory] = []


def resolve_model_dir(path: str | Path) -> Path:
    """The model folder for path; an archive's temporary folder goes when the process exits."""
    model_dir, unpacked = unpack_model(path)
    if unpacked is not None:
        _UNPACKED.append(unpacked)
    return model_dir
