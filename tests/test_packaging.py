"""How the project installs: three packages by their own names (sentiment_model, sentiment,
stacks), nothing of the checkout on the path by a bare name, and a plain wheel (not only the
editable install) that carries what the `sentiment` command needs."""
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from sentiment.paths import ROOT

# The entry scripts and the modules that used to be importable from anywhere by a bare name.
BARE_NAMES = ["train", "inference", "dataset", "network", "preprocessing", "artifact", "explain", "recipe",
              "ngrams", "word_vectors", "bundle", "toolkit_adapter", "sagemaker_job", "predict_proxy", "app"]
PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = True
    except ImportError:
        found[name] = False
print(json.dumps(found))
"""


def importable(python: str, names: list[str], cwd: Path) -> dict[str, bool]:
    import json

    result = subprocess.run([python, "-c", PROBE, *names], capture_output=True, text=True, cwd=cwd, check=True)
    return json.loads(result.stdout)


def test_only_the_three_packages_are_importable_by_name_outside_the_entry_folders(tmp_path):
    """`import train` or `import network` from anywhere was the editable install's .pth putting
    model_code/ and lambda/ on every interpreter's path; those names belong to other projects."""
    found = importable(sys.executable, [*BARE_NAMES, "sentiment_model.serving", "sentiment.cli", "stacks.config"],
                       tmp_path)
    assert not [name for name in BARE_NAMES if found[name]]
    assert found["sentiment_model.serving"] and found["sentiment.cli"] and found["stacks.config"]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The project built as a wheel and installed into a fresh prefix (its dependencies reached
    through this environment's site-packages, which holds no editable hook for that interpreter)."""
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(root / "dist"), str(ROOT)], capture_output=True, text=True)
    if built.returncode != 0 and "hatchling" in built.stderr:
        pytest.skip("hatchling is not installed (requirements-dev.txt)")
    assert built.returncode == 0, built.stderr
    [wheel] = (root / "dist").glob("*.whl")
    prefix = root / "prefix"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    # --ignore-installed: without it pip uninstalls this environment's own (editable) install first.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed",
                    "--prefix", str(prefix), str(wheel)],
                   check=True, capture_output=True)
    site = Path(sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})["purelib"])
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, prefix / "bin" / "python"


def test_the_wheel_holds_the_packages_and_no_bare_modules(installed_wheel):
    wheel, _ = installed_wheel
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"sentiment_model", "sentiment", "stacks"}
    assert "sentiment_model/serving.py" in names and "sentiment/cli.py" in names


def test_the_installed_wheel_runs_the_command_and_builds_a_servable_archive(installed_wheel, tmp_path):
    """Outside any checkout: the command answers, the bare names stay unimportable, and
    `sentiment package` builds model.tar.gz from the wheel's own copy of models/default with
    code/ holding the entry script and the package."""
    import tarfile

    _, python = installed_wheel
    found = importable(str(python), [*BARE_NAMES, "sentiment_model.serving"], tmp_path)
    assert found["sentiment_model.serving"] and not [name for name in BARE_NAMES if found[name]]
    where = subprocess.run([str(python), "-c", "import sentiment_model, sentiment.paths as p; "
                            "print(sentiment_model.__file__); print(p.DEFAULT_MODEL); print(p.LAMBDA_CODE / 'predict_proxy.py'); "
                            "print(p.WEBSITE / 'index.html')"], capture_output=True, text=True, cwd=tmp_path, check=True)
    package, model, handler, page = map(Path, where.stdout.split())
    assert not package.is_relative_to(ROOT)
    assert all(path.exists() and not path.is_relative_to(ROOT) for path in (model, handler, page))
    assert subprocess.run([str(python), "-m", "sentiment", "--help"], capture_output=True, cwd=tmp_path).returncode == 0
    packaged = subprocess.run([str(python), "-m", "sentiment", "package", str(model), "--out", "model.tar.gz"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert packaged.returncode == 0, packaged.stderr
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        members = set(archive.getnames())
    assert {"model.pt", "code/inference.py", "code/sentiment_model/serving.py", "code/requirements.txt"} <= members
