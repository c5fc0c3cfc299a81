"""The one `sentiment` command: every job is a subcommand with its own --help, and the top-level
help answers without loading torch, boto3 or aws_cdk."""
import subprocess
import sys

import pytest

from sentiment.cli import COMMANDS, main


def test_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name} " in listed, name


def test_an_unknown_subcommand_is_refused_with_the_list(capsys):
    assert main(["deploy-everything"]) == 2
    error = capsys.readouterr().err
    assert "unknown command 'deploy-everything'" in error and "prepare" in error


def test_top_level_help_imports_no_heavy_package():
    probe = ("import sys; from sentiment.cli import main; main(['--help']); "
             "print(sorted({'torch', 'boto3', 'aws_cdk', 'numpy'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_explains_its_flags(name):
    result = subprocess.run([sys.executable, "-m", "sentiment", name, "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: sentiment {name}")
