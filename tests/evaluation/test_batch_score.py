"""Local batch scoring: every input format, predictions in input order, the evaluation command's
figures for the same model and data, and one-line errors for bad input."""
import gzip
import json
import subprocess
import sys

import pytest
from support import synthetic_reviews, write_aclimdb

from sentiment.evaluation import batch_score, evaluate

POSITIVE = "A wonderful, brilliant film. I loved it; a superb, moving masterpiece."
NEGATIVE = "An awful, boring mess. I hated it, the worst waste of time."


def score(model_dir, tmp_path, source, *extra):
    out = tmp_path / "predictions.jsonl"
    summary = batch_score.run(batch_score.parse_args(
        ["--model", str(model_dir), "--input", str(source), "--out", str(out), "--quiet", *extra]))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return summary, rows


def test_accuracy_and_scores_match_the_evaluation_command(tiny_model_dir, tiny_imdb, tmp_path, capsys):
    """Same model, same data, same figures: batch scoring is the evaluation command made fast."""
    evaluated = evaluate.evaluate(evaluate.parse_args(
        ["--model", str(tiny_model_dir), "--data", str(tiny_imdb), "--out", str(tmp_path / "eval"), "--quiet"]))
    summary, rows = score(tiny_model_dir, tmp_path, tiny_imdb / "test.jsonl.gz")
    for figure in ("reviews", "accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix"):
        assert summary["metrics"][figure] == evaluated[figure], figure
    printed = capsys.readouterr().out
    assert f"accuracy   {evaluated['accuracy']:.4f}" in printed
    assert "reviews/s" in printed

    from sentiment_model.artifact import load_predictor
    reference = load_predictor(tiny_model_dir).predict([r["text"] for r in synthetic_reviews(200, seed=2)])
    assert [row["id"] for row in rows] == [r["id"] for r in synthetic_reviews(200, seed=2)]
    assert max(abs(row["score"] - expected) for row, expected in zip(rows, reference)) < 1e-5


def test_several_processes_give_the_scores_of_one(tiny_model_dir):
    from sentiment_model.artifact import load_predictor

    predictor = load_predictor(tiny_model_dir)
    texts = [r["text"] for r in synthetic_reviews(150, seed=5)]
    alone = batch_score.score_all(predictor, texts, workers=1, chunk=16, progress=False)
    shared = batch_score.score_all(predictor, texts, workers=2, chunk=16, progress=False)
    assert shared == alone
    assert batch_score.processes_for(150, 2, chunk=16) == 2


def test_json_lines_of_objects_and_strings_keep_their_order_ids_and_labels(tiny_model_dir, tmp_path):
    source = tmp_path / "reviews.jsonl"
    source.write_text("\n".join([
        json.dumps({"text": POSITIVE, "label": 1, "id": "a"}),
        json.dumps({"review": NEGATIVE, "label": "negative"}),
        "",
        json.dumps(POSITIVE + " Again."),
    ]) + "\n")
    summary, rows = score(tiny_model_dir, tmp_path, source)
    assert [set(row) for row in rows] == [{"id", "sentiment", "score", "label"}, {"sentiment", "score", "label"},
                                          {"sentiment", "score"}]
    assert rows[0]["id"] == "a" and [rows[0]["label"], rows[1]["label"]] == [1, 0]
    assert [row["sentiment"] for row in rows] == ["positive", "negative", "positive"]
    assert all(row["sentiment"] == ("positive" if row["score"] >= 0.5 else "negative") for row in rows)
    assert summary["metrics"]["reviews"] == 2  # only the labelled ones are evaluated


def test_csv_with_quoted_newlines_and_label_words(tiny_model_dir, tmp_path):
    source = tmp_path / "reviews.csv.gz"
    with gzip.open(source, "wt", encoding="utf-8", newline="") as handle:
        handle.write('id,Review,sentiment\n7,"' + POSITIVE + '\nSecond line, with a comma.",positive\n'
                     f"8,{NEGATIVE.replace(',', '')},neg\n")
    summary, rows = score(tiny_model_dir, tmp_path, source)
    assert [(row["id"], row["label"], row["sentiment"]) for row in rows] == [
        ("7", 1, "positive"), ("8", 0, "negative")]
    assert summary["metrics"]["accuracy"] == 1.0


def test_plain_text_is_one_review_per_line(tiny_model_dir, tmp_path):
    source = tmp_path / "reviews.txt"
    source.write_text(f"{NEGATIVE}\n\n{POSITIVE}\r\n")
    summary, rows = score(tiny_model_dir, tmp_path, source)
    assert [row["sentiment"] for row in rows] == ["negative", "positive"]
    assert "metrics" not in summary and set(rows[0]) == {"sentiment", "score"}


def test_the_aclimdb_layout_is_read_by_the_shared_loader(tiny_model_dir, tmp_path):
    write_aclimdb(tmp_path / "data", "test", synthetic_reviews(40, seed=3))
    summary, rows = score(tiny_model_dir, tmp_path, tmp_path / "data" / "aclImdb")
    assert summary["metrics"]["reviews"] == 40 and len(rows) == 40
    assert rows[0]["label"] == 0 and rows[-1]["label"] == 1  # the dataset's order: negative first


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sentiment", "batch-score", "--quiet", *args],
                          check=False, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name, content, message", [
    ("missing.jsonl", None, "not found"),
    ("bad.jsonl", '{"text": "fine", "label": 1}\n{"text": \n', "bad.jsonl:2: not valid JSON"),
    ("bad_label.jsonl", '{"text": "fine", "label": 3}\n', "bad_label.jsonl:1: label must be"),
    ("empty_review.jsonl", '{"text": "  "}\n', "empty_review.jsonl:1: the review is empty"),
    ("no_text.csv", "id,comment\n1,nice\n", "no review or text column"),
    ("ragged.csv", "text,label\nnice,1,extra\n", "ragged.csv:2: 3 fields"),
    ("latin1.txt", b"caf\xe9 was great\n", "not valid UTF-8"),
    ("reviews.xlsx", "whatever", "unknown input type"),
    ("empty.txt", "\n\n", "no reviews found"),
])
def test_bad_input_is_one_line_and_exit_code_2(tiny_model_dir, tmp_path, name, content, message):
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    elif content is not None:
        source.write_text(content)
    result = run_cli("--model", str(tiny_model_dir), "--input", str(source), "--out", str(tmp_path / "out.jsonl"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_a_missing_model_is_one_line_and_exit_code_2(tmp_path):
    source = tmp_path / "reviews.txt"
    source.write_text(POSITIVE + "\n")
    result = run_cli("--model", str(tmp_path / "no-model"), "--input", str(source))
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_the_command_prints_figures_and_throughput(tiny_model_dir, tiny_imdb, tmp_path):
    out = tmp_path / "predictions.jsonl"
    result = run_cli("--model", str(tiny_model_dir), "--input", str(tiny_imdb / "test.jsonl.gz"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "reviews/s" in result.stdout and "ms per review" in result.stdout
    assert len(out.read_text().splitlines()) == 200
