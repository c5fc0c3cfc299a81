"""train.py as a SageMaker training job runs it (issue 13, findings 10 to 12): booleans as the
training toolkit renders them, the one-line failure reason in the failure file, progress fit for
CloudWatch Logs; and the real toolkit (sagemaker-training, with the PyTorch training image's
sagemaker_pytorch_container) running train.py --dry-run in a stand-in for /opt/ml."""
import io
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from sentiment.packaging import write_tarball
from sentiment.paths import MODEL_CODE
from sentiment_model import sagemaker_job, training
from stacks.config import DeploymentConfig


@pytest.mark.parametrize("argv, expected", [
    ([], (False, False, False)),
    (["--dry-run", "--quiet", "--fit-all"], (True, True, True)),
    (["--dry-run", "True", "--quiet", "False", "--fit-all", "false"], (True, False, False)),
    (["--fit-all", "true", "--dry-run", "--epochs", "2"], (True, True, False)),
])
def test_switches_take_the_bare_flag_and_the_toolkits_true_or_false(argv, expected):
    args = training.parse_args(argv)
    assert (args.dry_run, args.fit_all, args.quiet) == expected


def test_a_switch_with_a_value_that_is_not_a_boolean_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        training.parse_args(["--dry-run", "maybe"])
    assert exit_.value.code == 2 and "expected true or false" in capsys.readouterr().err


def test_bad_data_writes_its_one_line_reason_to_sm_output_dir_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.json").write_text("{not json")
    assert training.main(["--data-dir", str(tmp_path / "data"), "--model-dir", str(tmp_path / "model"), "--dry-run"]) == 2
    reason = (tmp_path / "output" / "failure").read_text()
    assert reason.startswith(f"{tmp_path / 'data' / 'manifest.json'}: not valid JSON (")
    assert reason.count("\n") == 1


def test_a_bad_hyperparameter_is_the_failure_reason_too(tmp_path, monkeypatch):
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        training.parse_args(["--epochs", "0"])
    assert (tmp_path / "failure").read_text() == "bad hyperparameter or flag: --epochs must be at least 1\n"


def test_an_unexpected_error_is_reported_in_one_line_and_still_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))

    def out_of_memory(args):
        raise MemoryError("cannot allocate 4 GB\nfor the embeddings")

    monkeypatch.setattr(training, "train", out_of_memory)
    with pytest.raises(MemoryError):
        training.main(["--dry-run"])
    assert (tmp_path / "failure").read_text() == "training failed: MemoryError: cannot allocate 4 GB for the embeddings\n"


def test_outside_sagemaker_no_failure_file_is_written(tmp_path, monkeypatch):
    """On a workstation stderr is where the reason belongs; /opt/ml is written only where it exists."""
    monkeypatch.delenv("SM_OUTPUT_DIR", raising=False)
    monkeypatch.setattr(sagemaker_job, "SAGEMAKER_OUTPUT_DIR", tmp_path / "opt" / "ml" / "output")
    assert sagemaker_job.failure_file() is None
    (tmp_path / "opt" / "ml" / "output").mkdir(parents=True)
    assert sagemaker_job.failure_file() == tmp_path / "opt" / "ml" / "output" / "failure"


class Log(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def run_epoch(batches: int, label: str, stream: Log, **options) -> sagemaker_job.EpochProgress:
    """Steps an EpochProgress through every batch (running loss 0.5) and closes it."""
    progress = sagemaker_job.EpochProgress(batches, label, stream=stream, **options)
    for _ in range(batches):
        progress.step(0.5)
    progress.close()
    return progress


def test_progress_off_a_terminal_is_a_line_per_tenth_of_the_epoch_not_per_batch():
    log = Log(terminal=False)
    run_epoch(570, "epoch 1/8", log)
    lines = log.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in log.getvalue()
    assert lines[0].startswith("epoch 1/8: 57/570 batches (10%), running loss 0.5000")
    assert lines[-1].startswith("epoch 1/8: 570/570 batches (100%)")


def test_progress_on_a_terminal_is_a_bar_and_quiet_is_silent():
    terminal = Log(terminal=True)
    progress = run_epoch(50, "epoch 1/1", terminal)
    assert progress.bar is not None and "50/50" in terminal.getvalue()
    quiet = Log(terminal=False)
    run_epoch(50, "epoch 1/1", quiet, quiet=True)
    assert quiet.getvalue() == ""


def test_training_piped_to_a_log_writes_a_bounded_number_of_progress_lines(tiny_dataset, tmp_path):
    result = subprocess.run([sys.executable, str(MODEL_CODE / "train.py"), "--data-dir", str(tiny_dataset),
                             "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
                             "--epochs", "1", "--batch-size", "4", "--embedding-dim", "8", "--hidden-dim", "8",
                             "--word-vectors", "random", "--threads", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if "batches (" in line]
    assert len(progress) == 10, result.stderr  # 135 batches, one line per tenth
    assert "\r" not in result.stderr


# ---------------------------------------------------------------------------------------------
# The real training toolkit
# ---------------------------------------------------------------------------------------------

def run_training_job(root, data_dir, hyperparameters: dict[str, str]) -> subprocess.CompletedProcess:
    """The container's `train` with root standing in for /opt/ml (SAGEMAKER_BASE_DIR), laid out as
    SageMaker lays it out: config files, the training channel, the source archive the CDK
    uploads, and the PyTorch training image's SAGEMAKER_TRAINING_MODULE."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    shutil.copytree(data_dir, root / "input" / "data" / "training")
    source = write_tarball(MODEL_CODE, root.parent / "sourcedir.tar.gz")
    host = socket.gethostname()
    (config / "hyperparameters.json").write_text(json.dumps({
        **hyperparameters,
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": str(source),
        "sagemaker_region": "us-east-1",
        "sagemaker_container_log_level": "20",
    }))
    (config / "inputdataconfig.json").write_text(json.dumps({"training": {
        "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}))
    (config / "resourceconfig.json").write_text(json.dumps({
        "current_host": host, "hosts": [host], "current_instance_group": "homogeneousCluster",
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.c5.2xlarge",
                             "hosts": [host]}], "network_interface_name": "eth0"}))
    (root / "model").mkdir()
    (root / "output" / "data").mkdir(parents=True)
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(root),
           "SAGEMAKER_TRAINING_MODULE": "sagemaker_pytorch_container.training:main"}
    env.pop("SM_OUTPUT_DIR", None)
    return subprocess.run([sys.executable, "-c", "from sagemaker_training.cli.train import main; main()"],
                          cwd=root.parent, env=env, capture_output=True, text=True, timeout=600, check=False)


def job_hyperparameters(**overrides: str) -> dict[str, str]:
    """What the CDK app gives the training job (stacks/config.py), made seconds-long."""
    return {**DeploymentConfig().hyperparameters, "dry-run": "true", "quiet": "false", "fit-all": "false",
            "embedding-dim": "16", "hidden-dim": "16", "threads": "1", **overrides}


@pytest.mark.toolkit
@pytest.mark.slow
def test_the_training_toolkit_runs_a_dry_run_as_sagemaker_would(training_toolkit, tiny_dataset, tmp_path):
    root = tmp_path / "opt" / "ml"
    job = run_training_job(root, tiny_dataset, job_hyperparameters())
    log = job.stdout + job.stderr
    assert job.returncode == 0, log[-3000:]
    assert "--dry-run True" in log and "--fit-all False" in log and "--quiet False" in log
    assert (root / "output" / "success").exists() and not (root / "output" / "failure").exists()
    assert (root / "model" / "model.pt").is_file() and (root / "model" / "code" / "inference.py").is_file()
    assert json.loads((root / "output" / "data" / "metrics.json").read_text())["hyperparameters"]["dry_run"] is True
    assert [line for line in log.splitlines() if "batches (" in line], "progress lines, not a bar, in the log"


@pytest.mark.toolkit
@pytest.mark.slow
def test_the_training_toolkit_keeps_train_pys_failure_reason_for_broken_data(training_toolkit, tiny_dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    (broken / "train.ids.npy").write_bytes(b"not the array the manifest describes")
    root = tmp_path / "opt" / "ml"
    job = run_training_job(root, broken, job_hyperparameters())
    assert job.returncode != 0
    reason = (root / "output" / "failure").read_text()
    channel = root / "input" / "data" / "training"
    assert reason == f"{channel / 'train.ids.npy'}: sha256 does not match the manifest (file changed or corrupt)\n"
