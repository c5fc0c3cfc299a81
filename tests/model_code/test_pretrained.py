"""The pretraining stage and fine-tuning from it: `sentiment pretrain` writes a checkpoint with
its README, train.py starts its LSTM from one (--pretrained-dir) or builds one first
(--pretrain-first), and refuses a checkpoint of another vocabulary or shape in one line."""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
import torch
from support import write_jsonl

from sentiment.data import prepare as prepare_data
from sentiment.paths import ROOT
from sentiment.training import pretrain
from sentiment_model import training
from sentiment_model.network import ModelConfig, SentimentLSTM

WORDS = {1: ("wonderful", "superb", "moving"), 0: ("terrible", "boring", "awful")}
SMALL = ["--embedding-dim", "8", "--hidden-dim", "8", "--batch-size", "32", "--threads", "1", "--quiet"]


def rows(count: int, seed: int) -> list[dict]:
    """Reviews of four sentences, one of them a verdict "<subject> was <word>.", so that the
    windows and the texts built by rule are not empty."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        label = index % 2
        out.append({"text": f"We went on a Sunday. The acting was {rng.choice(WORDS[label])}. "
                            f"The music was {rng.choice(WORDS[label])}. We went home after it.",
                    "label": label, "id": f"{index}_{9 if label else 1}"})
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb")
    write_jsonl(root / "train.jsonl.gz", rows(300, seed=1))
    write_jsonl(root / "test.jsonl.gz", rows(40, seed=2))
    return root


@pytest.fixture(scope="module")
def dataset(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    assert prepare_data.main(["--source", str(source), "--out", str(out), "--workers", "1", "--quiet",
                              "--no-unlabelled"]) == 0
    assert json.loads((out / "manifest.json").read_text())["splits"]["train_rules"]["reviews"] > 0
    return out


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory):
    """What the pretraining stage writes: the LSTM alone, no texts built by rule."""
    folder = tmp_path_factory.mktemp("pretrained")
    assert training.main(["--data-dir", str(dataset), "--model-dir", str(folder), "--output-data-dir",
                          str(tmp_path_factory.mktemp("out")), "--epochs", "2", "--rules", "false",
                          "--ngram-order", "0", *SMALL]) == 0
    return folder


def train(dataset, tmp_path, *flags) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(dataset),
                           "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
                           "--finetune-epochs", "1", "--epochs", "1", *SMALL, *flags],
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_lstm_starts_from_the_checkpoint_weights_and_the_ngram_parts_are_left_to_fine_tuning(dataset, checkpoint):
    vocabulary = json.loads((checkpoint / "vocab.json").read_text())
    config = ModelConfig.from_recipe(len(vocabulary) + 2, training.Recipe(embedding_dim=8, hidden_dim=8))
    model = SentimentLSTM(config)
    training.load_pretrained(model, checkpoint, vocabulary)
    saved = torch.load(checkpoint / "model.pt", weights_only=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name].float()), name
    assert json.loads((checkpoint / "model_config.json").read_text())["ngram_features"] == 0


def test_fine_tuning_learns_from_the_rules_and_records_where_it_started(dataset, checkpoint, tmp_path):
    result = train(dataset, tmp_path, "--pretrained-dir", str(checkpoint))
    assert result.returncode == 0, result.stderr
    assert f"pretrained: the LSTM starts from {checkpoint}" in result.stdout
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["fine_tuned_from"] == str(checkpoint) and metrics["pretraining"] is None
    # One fine-tuning epoch (--finetune-epochs), not the recipe's --epochs.
    assert len(metrics["history"]) == 1
    assert "validation_rules" in metrics["validation_by_part"]
    manifest = json.loads((dataset / "manifest.json").read_text())["splits"]
    repeat = metrics["hyperparameters"]["rules_repeat"]
    texts = sum(manifest[name]["reviews"] for name in ("train", "train_windows")) + repeat * manifest["train_rules"]["reviews"]
    assert f"data: {texts} training texts" in result.stdout


def test_the_texts_built_by_rule_are_repeated_for_the_lstm_and_kept_from_the_review_ngram_part(dataset):
    args = training.parse_args(["--data-dir", str(dataset), "--rules-repeat", "3"])
    data = training.load_training_data(args)
    splits = json.loads((dataset / "manifest.json").read_text())["splits"]
    reviews, windows, built = (splits[name]["reviews"] for name in ("train", "train_windows", "train_rules"))
    assert len(data.train) == reviews + windows + 3 * built
    assert len(data.ngram_texts) == reviews + windows
    assert len(data.windows) == windows + built
    assert len(training.load_training_data(args, rules=False).train) == reviews + windows


def test_pretrain_first_runs_both_stages_in_one_job(dataset, tmp_path):
    result = train(dataset, tmp_path, "--pretrain-first", "True", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "pretraining stage: the LSTM on the reviews and windows" in result.stdout
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert len(metrics["pretraining"]["history"]) == 2 and len(metrics["history"]) == 1
    assert metrics["fine_tuned_from"] == "the pretraining stage above"


def test_a_checkpoint_of_another_vocabulary_or_shape_is_refused_in_one_line(dataset, checkpoint, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("model.pt", "model_config.json", "preprocessing.json"):
        (other / name).write_bytes((checkpoint / name).read_bytes())
    (other / "vocab.json").write_text(json.dumps(list(reversed(json.loads((checkpoint / "vocab.json").read_text())))))
    result = train(dataset, tmp_path, "--pretrained-dir", str(other))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error:") and "vocabulary is not the dataset's" in result.stderr
    shaped = train(dataset, tmp_path, "--pretrained-dir", str(checkpoint), "--hidden-dim", "12")
    assert shaped.returncode == 2 and "hidden_dim (8 != 12)" in shaped.stderr
    missing = train(dataset, tmp_path, "--pretrained-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not a pretrained checkpoint" in missing.stderr


def test_sentiment_pretrain_writes_the_checkpoint_and_its_readme(source, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrain, "PRETRAIN_FLAGS", [*pretrain.PRETRAIN_FLAGS, "--epochs", "1", "--embedding-dim", "8",
                                                     "--hidden-dim", "8"])
    target = tmp_path / "pretrained"
    assert pretrain.main(["--imdb", str(source), "--work", str(tmp_path / "work"), "--target", str(target)]) == 0
    assert {p.name for p in target.iterdir()} >= {"model.pt", "model_config.json", "vocab.json", "README.md",
                                                 "metrics.json"}
    readme = (target / "README.md").read_text()
    manifest = json.loads((tmp_path / "work" / "data" / "manifest.json").read_text())
    assert f"sentiment pretrain --imdb {source}" in readme
    assert manifest["source"]["content_sha256"] in readme and manifest["files"]["train.ids.npy"] in readme
    assert "| 1 |" in readme and "whole stage" in readme
    assert set(json.loads((target / "metrics.json").read_text())["pretrain_seconds"]) == {"prepare", "pretrain"}


@pytest.mark.parametrize("select_by, kept", [("accuracy", 2), ("loss", 3)])
def test_the_weights_kept_are_the_best_epoch_by_select_by(select_by, kept):
    """Epoch 3 has the lowest validation loss but not the best accuracy: accuracy keeps epoch
    2, loss keeps epoch 3, and patience counts epochs without a better figure of that kind."""
    model = torch.nn.Linear(2, 1)
    candidates = training.Candidates(average_last=0, select_by=select_by)
    epochs = {1: {"loss": 0.40, "accuracy": 0.80}, 2: {"loss": 0.30, "accuracy": 0.90},
              3: {"loss": 0.25, "accuracy": 0.88}}
    for epoch, figures in epochs.items():
        with torch.no_grad():
            model.bias.fill_(float(epoch))
        candidates.observe(model, epoch, figures)
    assert candidates.best_epoch == kept
    assert candidates.best_state["bias"].item() == float(kept)
    assert candidates.best_accuracy == epochs[kept]["accuracy"]
    assert candidates.stale == 3 - kept


def test_pretrain_keeps_its_weights_by_validation_loss():
    flags = pretrain.PRETRAIN_FLAGS
    assert flags[flags.index("--select-by") + 1] == "loss"
    assert training.parse_args(["--select-by", "loss"]).select_by == "loss"
