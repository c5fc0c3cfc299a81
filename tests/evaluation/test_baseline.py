"""`sentiment baseline`: the linear baseline is fitted on the model's own training split and
scored beside the model on the same sets, by length bucket."""
import json

import numpy as np
from scipy.sparse import csr_matrix

from sentiment.data.reviews import Review
from sentiment.evaluation import baseline


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
