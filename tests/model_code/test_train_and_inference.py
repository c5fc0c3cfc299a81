"""train.py writes a complete, pickle-free model directory; the four SageMaker handlers serve it,
and refuse bad requests with a status and a message that says what was wrong."""
import json
import os
import subprocess
import sys
import zipfile

import pytest
import torch

from sentiment.paths import ROOT
from sentiment_model import serving
from sentiment_model.artifact import ArtifactError, load_predictor
from sentiment_model.network import ModelConfig, SentimentLSTM, pad_batch


def test_model_directory_is_complete_for_the_inference_container(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"model.pt", "model_config.json", "vocab.json", "preprocessing.json", "metrics.json",
            "training_curve.png", "code"} <= names
    assert {p.name for p in (tiny_model_dir / "code").iterdir()} >= {"inference.py", "requirements.txt"}
    assert (tiny_model_dir / "code" / "inference.py").read_text() == (ROOT / "model_code" / "inference.py").read_text()
    assert (tiny_model_dir / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_weights_load_with_weights_only_and_hold_no_pickled_objects(tiny_model_dir):
    state = torch.load(tiny_model_dir / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    with zipfile.ZipFile(tiny_model_dir / "model.pt") as archive:
        pickle_bytes = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    assert b"SentimentLSTM" not in pickle_bytes and b"__main__" not in pickle_bytes


def test_metrics_record_history_hyperparameters_and_data_hashes(tiny_model_dir):
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert metrics["history"] and metrics["best_epoch"] >= 1
    assert metrics["hyperparameters"]["hidden_dim"] == 16
    assert "train.ids.npy" in metrics["dataset"]["files"]
    assert metrics["validation_accuracy"] >= 0.9, "the tiny dataset is trivially separable"


def test_default_mode_model_needs_no_extra_packages_at_serving(tiny_model_dir):
    lines = (tiny_model_dir / "code" / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == []


def test_training_reads_sagemaker_environment_defaults(tiny_dataset, tmp_path):
    env = dict(os.environ, SM_CHANNEL_TRAINING=str(tiny_dataset), SM_MODEL_DIR=str(tmp_path / "model"),
               SM_OUTPUT_DATA_DIR=str(tmp_path / "output"))
    # SageMaker passes hyperparameters as flags, booleans as "True"/"False".
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--dry-run",
                             "--bidirectional", "False", "--hidden-dim", "8", "--threads", "1", "--quiet"],
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "model" / "model.pt").is_file()
    assert (tmp_path / "output" / "metrics.json").is_file()
    assert json.loads((tmp_path / "model" / "model_config.json").read_text())["bidirectional"] is False


def test_training_without_a_dataset_says_how_to_make_one(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir",
                             str(tmp_path), "--model-dir", str(tmp_path / "m"), "--dry-run"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "manifest.json: not found; run `sentiment prepare`" in result.stderr
    assert "Traceback" not in result.stderr


def test_packed_and_padded_execution_give_the_same_logits():
    torch.manual_seed(0)
    lengths = [0, 1, 5, 17, 40, 40, 3]
    ids, lengths_tensor = pad_batch([torch.randint(2, 50, (n,)).tolist() for n in lengths])
    for config in (ModelConfig(50, 8, 8), ModelConfig(50, 8, 8, num_layers=2),
                   ModelConfig(50, 8, 8, bidirectional=False, readout="last")):
        model = SentimentLSTM(config).eval()
        with torch.no_grad():
            packed = model(ids, lengths_tensor, packed=True)
            padded = model(ids, lengths_tensor, packed=False)
        assert torch.allclose(packed, padded, atol=1e-5)


def test_trailing_padding_does_not_change_a_review_score():
    torch.manual_seed(0)
    model = SentimentLSTM(ModelConfig(50, 8, 8)).eval()
    short, _ = pad_batch([[5, 6, 7]])
    longer = torch.zeros((1, 30), dtype=torch.int64)
    longer[0, :3] = short[0]
    with torch.no_grad():
        for packed in (True, False):
            assert torch.allclose(model(short, torch.tensor([3]), packed=packed),
                                  model(longer, torch.tensor([3]), packed=packed), atol=1e-6)


@pytest.fixture(scope="module")
def served(tiny_model_dir):
    return serving.model_fn(str(tiny_model_dir))


def handle(model, body, content_type="text/plain", accept="application/json"):
    return serving.output_fn(serving.predict_fn(serving.input_fn(body, content_type), model), accept)


def test_plain_text_review_gets_sentiment_and_score(served):
    body, content_type = handle(served, b"wonderful brilliant superb film, loved it")
    assert content_type == "application/json"
    answer = json.loads(body)
    assert answer["sentiment"] == "positive" and 0.5 < answer["score"] <= 1
    assert json.loads(handle(served, "awful boring terrible waste")[0])["sentiment"] == "negative"


def test_json_single_and_list_bodies(served):
    single = json.loads(handle(served, json.dumps({"review": "dull worst mess"}), "application/json")[0])
    assert single["sentiment"] == "negative"
    many = json.loads(handle(served, json.dumps({"reviews": ["superb", "awful"]}),
                             "application/json; charset=utf-8")[0])
    assert [p["sentiment"] for p in many["predictions"]] == ["positive", "negative"]


def test_json_lines_body_answers_one_line_per_review(served):
    body = '"great delightful"\n{"review": "hated it, boring"}\n\n"masterpiece"\n'
    lines = handle(served, body, "application/jsonlines")[0].splitlines()
    assert [json.loads(line)["sentiment"] for line in lines] == ["positive", "negative", "positive"]


def test_reviews_without_known_words_still_get_a_prediction(served):
    for review in ("the the and a", "!!! ??? ...", "zzzqqq xyzzy", "<br /><br />ok"):
        answer = json.loads(handle(served, review)[0])
        assert answer["sentiment"] in ("positive", "negative") and 0 <= answer["score"] <= 1


def test_batch_scores_equal_single_scores(served):
    reviews = ["great film", "awful film and boring plot " * 20, "superb"]
    batch = served.predict(reviews)
    assert batch == pytest.approx([served.predict([r])[0] for r in reviews], abs=1e-5)


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"hello", "text/html", 415, "unsupported content type"),
    (b"", "text/plain", 400, "review is empty"),
    (b"   \n ", "text/plain", 400, "review is empty"),
    (b"\xff\xfe\xfd", "text/plain", 400, "not valid UTF-8"),
    (b'{"review": "ok"', "application/json", 400, "not valid JSON"),
    (b'["a list"]', "application/json", 400, 'object with "review"'),
    (b'{"review": 5}', "application/json", 400, '"review" must be a string'),
    (b'{"review": ""}', "application/json", 400, '"review" is empty'),
    (b'{"reviews": []}', "application/json", 400, "non-empty list"),
    (b'{"reviews": ["ok", null]}', "application/json", 400, '"reviews"[1] must be a string'),
    (b"[" * 100000 + b"]" * 100000, "application/json", 400, "not valid JSON"),
    (b'"fine"\n{"text": "x"}', "application/jsonlines", 400, 'line 2: object has no "review"'),
    (b"\n\n", "application/jsonlines", 400, "no reviews"),
])
def test_bad_requests_raise_with_status_and_reason(body, content_type, status, message):
    with pytest.raises(serving.InferenceError) as caught:
        serving.input_fn(body, content_type)
    assert caught.value.status_code == status
    assert message in str(caught.value)


def test_oversized_body_and_review_are_refused_with_413(monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    with pytest.raises(serving.InferenceError) as caught:
        serving.input_fn(b"a" * 1001, "text/plain")
    assert caught.value.status_code == 413 and "limit is 1000" in str(caught.value)
    monkeypatch.setenv("MAX_REVIEW_CHARS", "10")
    with pytest.raises(serving.InferenceError) as caught:
        serving.input_fn(b"a" * 11, "text/plain")
    assert caught.value.status_code == 413


def test_unsupported_accept_type_is_refused_with_406(served):
    with pytest.raises(serving.InferenceError) as caught:
        handle(served, "great", accept="text/csv")
    assert caught.value.status_code == 406


def test_a_folder_that_is_not_a_model_is_named_in_the_error(tmp_path):
    with pytest.raises(ArtifactError, match="missing model.pt"):
        load_predictor(tmp_path)


DEFAULT_MODEL = ROOT / "models" / "default"


@pytest.mark.skipif(not (DEFAULT_MODEL / "model.pt").is_file(), reason="models/default not built yet")
def test_default_model_classifies_unambiguous_reviews():
    model = serving.model_fn(str(DEFAULT_MODEL))
    positive = [("One of the best films I have ever seen. Brilliant acting, a moving story, "
                 "and a wonderful score. I loved every minute."),
                "An absolute masterpiece. Highly recommended."]
    negative = [("This was the worst movie I have ever seen. Boring, badly acted and a complete "
                 "waste of time."), "Awful. Terrible script, dull characters, I want my money back."]
    answers = [json.loads(handle(model, review)[0])["sentiment"] for review in positive + negative]
    assert answers == ["positive"] * len(positive) + ["negative"] * len(negative)


def test_the_built_model_archive_carries_the_serving_code_and_serves(stack_model, tmp_path):
    """models/default holds data only; model.tar.gz gets code/ as it is built: the entry script
    and the whole sentiment_model package, no list of modules to forget one from. That archive
    is what the endpoint (and the local model server) loads."""
    import tarfile

    from sentiment.local.model_server import load_model
    from sentiment.packaging import build_model_archive

    assert not (DEFAULT_MODEL / "code").exists()
    archive = build_model_archive(stack_model, tmp_path / "model.tar.gz")
    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
        assert {"model.pt", "code/inference.py", "code/requirements.txt"} <= names
        package = sorted(path.relative_to(ROOT / "model_code").as_posix()
                         for path in (ROOT / "model_code" / "sentiment_model").glob("*.py"))
        assert len(package) > 10 and {f"code/{name}" for name in package} <= names
        assert "code/train.py" not in names and not any("__pycache__" in name for name in names)
        assert opened.extractfile("code/inference.py").read() == (ROOT / "model_code" / "inference.py").read_bytes()
    loaded = load_model(archive)
    try:
        assert (loaded.model_dir / "code" / "inference.py").is_file()
        body, _ = loaded.handlers.output_fn(
            loaded.handlers.predict_fn(loaded.handlers.input_fn(b"A wonderful, moving film.", "text/plain"),
                                       loaded.model), "application/json")
        assert json.loads(body)["sentiment"] in ("positive", "negative")
    finally:
        loaded.close()


def test_word_dropout_acts_only_while_training():
    torch.manual_seed(0)
    model = SentimentLSTM(ModelConfig(50, 8, 8, word_dropout=0.5, dropout=0.0))
    ids, lengths = pad_batch([[5, 6, 7, 8, 9, 10]])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(ids, lengths), model(ids, lengths))
    model.train()
    with torch.no_grad():
        outputs = {round(float(model(ids, lengths, packed=False)), 6) for _ in range(20)}
    assert len(outputs) > 1


def test_json_lines_break_only_at_newlines(served):
    body = '"superb\u2028brilliant\u0085film"\r\n"awful boring"\n'
    lines = handle(served, body.encode("utf-8"), "application/jsonlines")[0].splitlines()
    assert [json.loads(line)["sentiment"] for line in lines] == ["positive", "negative"]


def test_fit_all_trains_on_every_review_and_claims_no_validation_figures(tiny_dataset, tmp_path):
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    every = manifest["splits"]["train"]["reviews"] + manifest["splits"]["validation"]["reviews"]
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(tiny_dataset),
                             "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
                             "--fit-all", "--epochs", "2", "--average-last", "0", "--hidden-dim", "8",
                             "--threads", "1", "--quiet"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert f"data: {every} training texts, 0 validation reviews" in result.stdout
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["fit_on_validation_reviews"] is True
    assert metrics["validation_accuracy"] is None
    assert [h["validation_accuracy"] for h in metrics["history"]] == [None, None]
    assert metrics["selected_weights"] == "epoch 2"
    assert load_predictor(tmp_path / "model").predict(["a fine film"])[0] > 0


def test_embedding_hook_shifts_the_embeddings_and_keeps_their_gradient():
    from sentiment_model import training

    torch.manual_seed(0)
    model = SentimentLSTM(ModelConfig(vocab_size=20, embedding_dim=4, hidden_dim=3)).eval()
    ids, lengths = pad_batch([[2, 3, 4], [5, 6]])
    plain = model(ids, lengths, packed=False)
    with training.embedding_hook(model, capture=True) as kept:
        logits = model(ids, lengths, packed=False)
        logits.sum().backward()
    assert torch.equal(logits, plain)
    gradient = kept["output"].grad
    assert gradient.shape == (2, 3, 4)
    assert torch.count_nonzero(gradient[1, 2]) == 0, "a padded step never reaches the read-out"
    with training.embedding_hook(model, shift=gradient):
        pushed = model(ids, lengths, packed=False)
    assert not torch.allclose(pushed, plain)
    assert torch.equal(model(ids, lengths, packed=False), plain), "the hook is gone afterwards"


def test_adversarial_training_runs_and_a_negative_step_is_refused(tiny_dataset, tmp_path):
    command = [sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(tiny_dataset),
               "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
               "--dry-run", "--hidden-dim", "8", "--threads", "1", "--quiet"]
    result = subprocess.run(command + ["--adversarial", "2"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["hyperparameters"]["adversarial"] == 2.0
    refused = subprocess.run(command + ["--adversarial", "-1"], capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "--adversarial must be 0 (off) or more" in refused.stderr


def test_the_trained_model_combines_the_lstm_with_the_ngram_part(tiny_model_dir):
    """The served logit is the fitted combination of both parts, and training reports each part
    on validation, so a reader sees what each contributes."""
    predictor = load_predictor(tiny_model_dir)
    config = predictor.model.config
    assert config.ngram_features > 0 and config.ngram_order == 3
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    parts = metrics["validation_by_part"]["validation"]
    assert set(parts) == {"lstm", "ngrams", "model", "reviews", "calibration_error"}
    assert metrics["validation_accuracy"] == parts["model"]
    # n-gram keys are integers and must survive the artifact's float16 storage exactly.
    assert predictor.model.ngrams.keys.dtype == torch.int64
    assert torch.equal(predictor.model.ngrams.keys, torch.sort(predictor.model.ngrams.keys).values)


def test_windows_and_unlabelled_reviews_reach_training(tmp_path):
    from support import synthetic_reviews, write_jsonl

    from sentiment.data import prepare as prepare_data

    rows = synthetic_reviews(200, seed=9)
    for row in rows:
        row["text"] = row["text"].replace(".<br /><br />", ". It went on. ") + ". The end."
    write_jsonl(tmp_path / "imdb" / "train.jsonl.gz", rows)
    write_jsonl(tmp_path / "imdb" / "unsup.jsonl.gz", [{"text": r["text"], "id": f"{i}_0"} for i, r in enumerate(rows)])
    assert prepare_data.main(["--source", str(tmp_path / "imdb"), "--out", str(tmp_path / "data"),
                              "--vocab-size", "100", "--workers", "1", "--quiet"]) == 0
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(tmp_path / "data"),
                             "--unlabelled-dir", str(tmp_path / "data-unlabelled"), "--model-dir", str(tmp_path / "m"),
                             "--output-data-dir", str(tmp_path / "o"), "--dry-run", "--threads", "1", "--quiet"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    texts = manifest["splits"]["train"]["reviews"] + manifest["splits"]["train_windows"]["reviews"]
    assert f"data: {texts} training texts" in result.stdout
    assert "200 unlabelled reviews" in result.stdout
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert set(metrics["validation_by_part"]) == {"validation", "validation_short"}
    # With windows the model also gets the short-text n-gram part, fitted on the short texts alone.
    assert "short-text n-gram part, on the short texts" in result.stdout
    assert set(metrics["validation_by_part"]["validation"]) == {"lstm", "ngrams", "short_ngrams", "model", "reviews",
                                                                "calibration_error"}
    model = load_predictor(tmp_path / "m").model
    assert model.config.short_ngram_features > 0 and model.combiner.parts == 3
    without = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(tmp_path / "data"),
                              "--model-dir", str(tmp_path / "m2"), "--output-data-dir", str(tmp_path / "o2"),
                              "--dry-run", "--threads", "1", "--quiet", "--short-ngrams", "false"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert without.returncode == 0, without.stderr
    assert load_predictor(tmp_path / "m2").model.config.short_ngram_features == 0
    assert metrics["validation_short_accuracy"] is not None
