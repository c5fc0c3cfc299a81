"""`sentiment baseline`: the linear baseline is fitted on the model's own training split and
scored beside the model on the same sets, by length bucket."""
import json

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from support import synthetic_reviews, write_jsonl

from sentiment.data import prepare as prepare_data
from sentiment.data.baseline_figures import baseline_file, read_baseline_figures
from sentiment.data.reviews import Review
from sentiment.evaluation import baseline
from sentiment.packaging import tree_hash


def test_the_nb_ratio_points_each_feature_to_the_class_it_appears_in():
    counts = csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32))
    ratio = baseline.nb_features(counts, np.array([1, 1, 0, 0]))
    assert ratio[0] > 0 > ratio[1] and abs(ratio[2]) < 1e-6


def test_length_buckets_count_words():
    reviews = [Review("good " * 5, 1), Review("bad " * 50, 0), Review("fine " * 500, 1)]
    buckets = baseline.by_length(reviews, [0.9, 0.8, 0.7])
    assert {k: v["reviews"] for k, v in buckets.items()} == {"<=20": 1, "21-100": 1, "101-400": 0, ">400": 1}
    assert buckets["21-100"]["accuracy"] == 0.0 and buckets["<=20"]["accuracy"] == 1.0


def test_baseline_and_model_are_scored_on_the_same_sets(tiny_imdb, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "baseline.json"
    assert baseline.main(["--data", str(tiny_imdb), "--model", str(tiny_model_dir), "--test",
                          "--workers", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    # The synthetic reviews have two sentences, too few for snippets: that set is reported empty.
    assert set(report["sets"]) == {"validation", "test"} and report["empty_sets"] == ["short validation"]
    for who in ("baseline", "model"):
        assert set(report[who]) == set(report["sets"])
        assert report[who]["test"]["reviews"] == 200
    # The synthetic reviews are decided by their cue words: a working baseline gets them right.
    assert report["baseline"]["test"]["accuracy"] > 0.9
    assert "short validation: no reviews" in capsys.readouterr().out


# The registry's baseline figures for a prepared dataset (--dataset) ---------------------------

def three_sentence_reviews(count: int, seed: int) -> list[dict]:
    """synthetic_reviews with a closing sentence, so that each has the 3 sentences snippets need."""
    return [{**row, "text": row["text"] + ". The end."} for row in synthetic_reviews(count, seed=seed)]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A source and the folder `sentiment prepare` made from a seeded sample of it, with a
    validation fraction and seed other than prepare's defaults."""
    root = tmp_path_factory.mktemp("baseline-dataset")
    source = write_jsonl(root / "imdb" / "train.jsonl.gz", three_sentence_reviews(300, seed=3)).parent
    out = root / "processed"
    assert prepare_data.main(["--source", str(source), "--out", str(out), "--vocab-size", "100", "--limit", "240",
                              "--validation-fraction", "0.25", "--seed", "7", "--no-unlabelled", "--workers", "1",
                              "--quiet"]) == 0
    return source, out


def test_the_dataset_baseline_is_fitted_on_the_datasets_split_and_written_beside_it(prepared, tmp_path, capsys):
    """The figures belong to the dataset the training job uploads: same reviews, same split, and
    the folder's hash recorded, so the stacks can tell whether they still do."""
    source, dataset = prepared
    report_file = tmp_path / "report.json"

    # No --data: the source the manifest names; no --model: the baseline alone.
    assert baseline.main(["--dataset", str(dataset), "--out", str(report_file)]) == 0

    written = json.loads(baseline_file(dataset).read_text())
    report = json.loads(report_file.read_text())
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert baseline_file(dataset) == dataset.parent / "processed-baseline.json"
    assert written["dataset_hash"] == tree_hash(dataset)
    # The validation reviews and their snippets are exactly the ones prepare held out.
    assert report["training_reviews"] == manifest["splits"]["train"]["reviews"]
    assert written["details"]["sets"] == {"validation": manifest["splits"]["validation"]["reviews"],
                                          "short validation": manifest["splits"]["validation_short"]["reviews"]}
    assert "model" not in report
    assert written["figures"] == {
        "validation_accuracy": report["baseline"]["validation"]["accuracy"],
        "short_validation_accuracy": report["baseline"]["short validation"]["accuracy"],
        "calibration_error": report["baseline"]["validation"]["expected_calibration_error"]}
    assert written["figures"]["validation_accuracy"] > 0.9
    assert read_baseline_figures(dataset, tree_hash(dataset)) == (written["figures"], None)
    assert f"wrote {baseline_file(dataset)}: the baseline's figures for the model registry" in capsys.readouterr().out


def test_reviews_other_than_the_datasets_are_refused_and_nothing_is_written(prepared, tmp_path, capsys):
    _, dataset = prepared
    baseline_file(dataset).unlink(missing_ok=True)
    other = write_jsonl(tmp_path / "other" / "train.jsonl.gz", three_sentence_reviews(300, seed=4)).parent

    assert baseline.main(["--dataset", str(dataset), "--data", str(other)]) == 2

    assert capsys.readouterr().err == (f"error: {other}: not the reviews the dataset was prepared from (their content "
                                       "hash differs from its manifest's); pass --data with the source `sentiment "
                                       "prepare` read\n")
    assert not baseline_file(dataset).exists()


def test_a_folder_without_a_manifest_is_one_line(tmp_path, capsys):
    assert baseline.main(["--dataset", str(tmp_path / "nowhere")]) == 2

    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'nowhere' / 'manifest.json'}: not a prepared "
                                              "dataset's manifest (FileNotFoundError")
