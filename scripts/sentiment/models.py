"""The one model resolver: accept a model as users have it, an unpacked model folder or a
model.tar.gz (unpacked into a temporary folder); and the model as an endpoint serves it, the
archive unpacked with the handlers of its own code/."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
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


def unpack_served_model(path: str | Path) -> tuple[Path, tempfile.TemporaryDirectory]:
    """The model as an endpoint receives it: path's model.tar.gz (built from a model folder by
    sentiment.packaging, code/ included) unpacked into a temporary folder, which the caller
    cleans up. Raises ModelPathError when the archive carries no serving code."""
    from sentiment.packaging import build_model_archive

    path = Path(path).expanduser()
    if path.is_dir():
        if not (path / "model.pt").is_file():
            raise ModelPathError(f"{path}: not a model directory (no model.pt)")
        with tempfile.TemporaryDirectory(prefix="sentiment-archive-") as scratch:
            model_dir, unpacked = unpack_model(build_model_archive(path, Path(scratch) / "model.tar.gz"))
    else:
        model_dir, unpacked = unpack_model(path)
    if unpacked is None or not (model_dir / "code" / SERVING_ENTRY).is_file():
        if unpacked is not None:
            unpacked.cleanup()
        raise ModelPathError(f"{path}: the archive has no code/{SERVING_ENTRY} (build it with `sentiment package`)")
    return model_dir, unpacked


def import_shipped_handlers(code_dir: Path):
    """The entry script code_dir/inference.py with the sentiment_model package beside it, imported
    from those files as the container imports them, not from this checkout. The modules it
    loads are kept apart from this process's own sentiment_model (restored afterwards), so two
    archives, or an archive and the checkout, never mix."""
    code_dir = Path(code_dir)
    # The package is found in code_dir alone, so its submodules come from its own folder too.
    package_spec = importlib.machinery.PathFinder.find_spec(SHIPPED_PACKAGE, [str(code_dir)])
    if package_spec is None or package_spec.origin is None:
        raise ModelPathError(f"{code_dir}: no {SHIPPED_PACKAGE} package beside {SERVING_ENTRY}")
    own = {name: sys.modules.pop(name) for name in list(sys.modules) if _in_package(name)}
    try:
        package = importlib.util.module_from_spec(package_spec)
        sys.modules[SHIPPED_PACKAGE] = package
        package_spec.loader.exec_module(package)
        spec = importlib.util.spec_from_file_location(f"shipped_inference_{len(_SHIPPED)}", code_dir / SERVING_ENTRY)
        handlers = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(handlers)
    finally:
        shipped = {name: sys.modules.pop(name) for name in list(sys.modules) if _in_package(name)}
        sys.modules.update(own)
    _SHIPPED.append(shipped)
    return handlers


SERVING_ENTRY = "inference.py"
SHIPPED_PACKAGE = "sentiment_model"
# The shipped packages' modules, kept alive (their functions import lazily from each other).
_SHIPPED: list[dict] = []


def _in_package(name: str) -> bool:
    return name == SHIPPED_PACKAGE or name.startswith(SHIPPED_PACKAGE + ".")
