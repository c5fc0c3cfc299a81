"""Every repository path the code, the docs and the build files name exists: a file that moves
must take its mentions with it (the flat scripts/*.py files and the model modules once left
behind were in error messages, docstrings and docs long after they had gone)."""
import re
import subprocess
from pathlib import Path

from sentiment.paths import ROOT

TEXT_SUFFIXES = (".py", ".md", ".toml", ".txt", ".yml", ".yaml", ".js", ".html", ".json", ".ini", ".cfg")
TEXT_FILES = ("Makefile", ".ci/run")
# A path starts at a top-level name of the repository and is not part of a longer path or URL.
NAMED_PATH = re.compile(
    r"(?<![\w./-])((?:app\.py|cdk\.json|Makefile|pyproject\.toml|requirements[\w-]*\.txt)|"
    r"(?:stacks|model_code|lambda|website|scripts|tests|docs|models|\.ci|\.github)/[\w./-]*[\w/])")
# Written by the tools, never committed: a model's code/ appears when it is packaged.
GENERATED = ("models/default/code",)


def tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()  # its examples name absent paths
    return [name for name in listed if (name.endswith(TEXT_SUFFIXES) or name in TEXT_FILES)
            and not name.startswith("tests/snapshots/") and name != this_file and (ROOT / name).is_file()]


def named_paths(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in NAMED_PATH.finditer(line):
            path = match.group(1).rstrip(".")
            if not any(mark in path for mark in "*<{") and not path.startswith(GENERATED):
                found.append((number, path))
    return found


def test_the_scan_finds_paths_in_prose_and_code_and_skips_urls():
    text = ("see model_code/sentiment_model/serving.py and `scripts/local_stack.py`;\n"
            "https://github.com/aws/deep-learning-containers/tree/master/pytorch/inference/docker/2.6/py3\n"
            "docs/model.md#explanations, build/model")
    assert [path for _, path in named_paths(text)] == [
        "model_code/sentiment_model/serving.py", "scripts/local_stack.py", "docs/model.md"]


def test_every_named_repository_path_exists():
    files = tracked_text_files()
    assert len(files) > 100
    missing = [f"{name}:{number}: {path}" for name in files
               for number, path in named_paths((ROOT / name).read_text(encoding="utf-8", errors="replace"))
               if not (ROOT / path).exists()]
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)
