"""`sentiment drift`: captured traffic drawn like the training data passes; traffic in another
language, much longer, full of unknown words or with shifted scores is flagged by the figure it
changes; a malformed capture file is a one-line error."""
import base64
import json
import random

import pytest
from support import synthetic_reviews, write_jsonl

from sentiment.evaluation import drift, drift_core

CYRILLIC = ["фильм", "был", "очень", "скучный", "актёры", "играли", "плохо", "сюжет", "отличный", "хороший"]


@pytest.fixture(scope="module")
def reference_source(tmp_path_factory):
    """An IMDb-like folder whose training split holds 2,000 synthetic reviews (200 held out)."""
    root = tmp_path_factory.mktemp("reference")
    write_jsonl(root / "train.jsonl.gz", synthetic_reviews(2000, seed=11))
    return root


def capture_record(index: int, text: str, score: float | None = None) -> str:
    """One request as SageMaker data capture writes it: every other one application/json, every
    other pair base64 (the default) rather than plain JSON (a configured JSON content type)."""
    as_json = index % 2 == 1
    body = json.dumps({"review": text, "explain": index % 3 == 0}) if as_json else text
    content_type = "application/json" if as_json else "text/plain"

    def part(data: str, kind: str) -> dict:
        if index % 4 < 2:
            return {"observedContentType": kind, "mode": "INPUT",
                    "data": base64.b64encode(data.encode("utf-8")).decode("ascii"), "encoding": "BASE64"}
        return {"observedContentType": kind, "mode": "INPUT", "data": data, "encoding": "JSON"}

    capture = {"endpointInput": part(body, content_type)}
    if score is not None:
        output = json.dumps({"sentiment": "positive" if score >= 0.5 else "negative", "score": score})
        capture["endpointOutput"] = {**part(output, "application/json"), "mode": "OUTPUT"}
    return json.dumps({"captureData": capture,
                       "eventMetadata": {"eventId": f"event-{index}", "inferenceTime": "2026-12-04T12:00:00Z"},
                       "eventVersion": "0"})


def write_capture(folder, texts, scores=None):
    scores = scores or [None] * len(texts)
    lines = [capture_record(i, text, score) for i, (text, score) in enumerate(zip(texts, scores))]
    # Two files in an hourly folder, as the capture's S3 prefix lays them out.
    hour = folder / "AllTraffic" / "2026" / "12" / "04" / "12"
    hour.mkdir(parents=True)
    middle = len(lines) // 2
    (hour / "10-00-000-a.jsonl").write_text("\n".join(lines[:middle]) + "\n", encoding="utf-8")
    (hour / "40-00-000-b.jsonl").write_text("\n".join(lines[middle:]) + "\n", encoding="utf-8")
    return folder


def like_training(count=100, seed=21):
    return [row["text"] for row in synthetic_reviews(count, seed=seed)]


def run_drift(capsys, tiny_model_dir, reference_source, capture, tmp_path):
    out = tmp_path / "drift.json"
    status = drift.main(["--capture", str(capture), "--model", str(tiny_model_dir),
                         "--reference", str(reference_source), "--trials", "100", "--json", str(out)])
    printed = capsys.readouterr()
    figures = json.loads(out.read_text()) if out.is_file() else None
    return status, printed, figures


def drifted(figures) -> set[str]:
    return {row["figure"].split(" (")[0] for row in figures["figures"] if row["drift"]}


def test_traffic_drawn_like_the_training_data_is_not_drift(tiny_model_dir, reference_source, tmp_path, capsys):
    """The check is only useful if ordinary traffic stays quiet: exit 0, every figure ok."""
    capture = write_capture(tmp_path / "capture", like_training())
    status, printed, figures = run_drift(capsys, tiny_model_dir, reference_source, capture, tmp_path)
    assert status == 0, printed.out
    assert drifted(figures) == set()
    assert figures["captured"] == 100 and figures["reference"] == 200 and figures["reference_part"] == "validation"
    assert "verdict: no drift" in printed.out


@pytest.mark.parametrize(("change", "expected"), [
    ("another language", {"not English to the model", "unknown-token rate"}),
    ("much longer", {"length"}),
    ("unknown words", {"unknown-token rate"}),
    ("shifted scores", {"score"}),
])
def test_drifting_traffic_is_flagged_by_the_figure_it_changes(change, expected, tiny_model_dir, reference_source,
                                                               tmp_path, capsys):
    """Each kind of change shows in its own figure, and the command exits 1."""
    rng = random.Random(5)
    texts, scores = like_training(), None
    if change == "another language":
        texts = [" ".join(rng.choice(CYRILLIC) for _ in range(rng.randint(5, 40))) if i % 3 == 0 else text
                 for i, text in enumerate(texts)]
    elif change == "much longer":
        texts = [" ".join([text] * 6) for text in texts]
    elif change == "unknown words":
        texts = [" ".join(word if rng.random() < 0.8 else f"zq{rng.randrange(10**6)}x" for word in text.split())
                 for text in texts]
    else:
        scores = [min(0.999, 0.9 + rng.random() / 10) for _ in texts]
    capture = write_capture(tmp_path / "capture", texts, scores)
    status, printed, figures = run_drift(capsys, tiny_model_dir, reference_source, capture, tmp_path)
    assert status == 1, printed.out
    assert expected <= drifted(figures), printed.out
    if change in ("much longer", "shifted scores"):
        assert drifted(figures) == expected, printed.out
    assert "DRIFT" in printed.out


@pytest.mark.parametrize(("content", "message"), [
    ('{"captureData": {"endpointInput": {"observedContentType": "text/plain", "data": "%%%", '
     '"encoding": "BASE64"}}}', "not base64"),
    ("not json at all", "not a SageMaker data capture record"),
    ('{"eventVersion": "0"}', "not a SageMaker data capture record"),
])
def test_a_malformed_capture_file_is_a_one_line_error(content, message, tiny_model_dir, reference_source,
                                                      tmp_path, capsys):
    """Bad input exits 2 with one line naming the file and line, never a traceback."""
    folder = write_capture(tmp_path / "capture", like_training(10))
    (folder / "broken.jsonl").write_text(capture_record(0, "fine") + "\n" + content + "\n", encoding="utf-8")
    status, printed, _ = run_drift(capsys, tiny_model_dir, reference_source, folder, tmp_path)
    assert status == 2
    assert printed.err.count("\n") == 1 and "Traceback" not in printed.err
    assert message in printed.err and "broken.jsonl:2" in printed.err


def test_a_folder_without_captures_is_a_one_line_error(tiny_model_dir, reference_source, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status, printed, _ = run_drift(capsys, tiny_model_dir, reference_source, tmp_path / "empty", tmp_path)
    assert status == 2 and "no .jsonl capture files" in printed.err and printed.err.count("\n") == 1


def test_records_of_other_content_types_are_skipped_not_misread():
    record = json.loads(capture_record(0, "x"))
    record["captureData"]["endpointInput"]["observedContentType"] = "application/jsonlines"
    assert drift_core.parse_record(json.dumps(record), "f:1") is None
    assert drift_core.parse_record(capture_record(1, "a good film", 0.8), "f:2") == [drift_core.Request("a good film", 0.8)]
    assert drift_core.parse_record(capture_record(2, "plain text"), "f:3") == [drift_core.Request("plain text", None)]


def test_a_list_of_reviews_is_each_review_with_its_own_captured_score():
    """Clients that call the endpoint with {"reviews": [...]} are traffic too: each review counts,
    with its score from the answer's "predictions" in order."""
    record = json.loads(capture_record(3, "x", 0.5))   # application/json, JSON-encoded
    record["captureData"]["endpointInput"]["data"] = json.dumps({"reviews": ["good", "bad"]})
    record["captureData"]["endpointOutput"]["data"] = json.dumps(
        {"predictions": [{"sentiment": "positive", "score": 0.9}, {"sentiment": "negative", "score": 0.1}]})
    assert drift_core.parse_record(json.dumps(record), "f:1") == [drift_core.Request("good", 0.9),
                                                                  drift_core.Request("bad", 0.1)]
    record["captureData"]["endpointOutput"]["data"] = json.dumps({"message": "model error"})
    assert drift_core.parse_record(json.dumps(record), "f:2") == [drift_core.Request("good", None),
                                                                  drift_core.Request("bad", None)]


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    assert drift_core.psi([10, 20, 30], [20, 40, 60]) == pytest.approx(0, abs=1e-3)   # half a count of smoothing
    assert 0 < drift_core.psi([50, 50], [60, 40]) < drift_core.psi([50, 50], [90, 10])
    assert drift_core.histogram([0, 24, 25, 1200], drift_core.LENGTH_BINS)[:3] == [2, 1, 0]
    assert drift_core.histogram([1200], drift_core.LENGTH_BINS)[-1] == 1


def write_profile(tiny_model_dir, reference_source, out, capsys, *extra):
    status = drift.main(["--write-profile", str(out), "--model", str(tiny_model_dir), "--reference",
                         str(reference_source), "--trials", "100", "--profile-windows", "20,50,100,500", *extra])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    return printed


def test_write_profile_holds_what_the_scheduled_check_needs_and_is_deterministic(tiny_model_dir, reference_source,
                                                                                 tmp_path, capsys):
    """The function has no model: the profile must carry the tokenizer's settings, the whole
    vocabulary in id order, the reference's figures and a threshold per figure and window size
    (capped at half the 200 held-out reviews); the same inputs must give the same bytes, so a
    profile in review or in an asset changes only when the model or the data do."""
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    printed = write_profile(tiny_model_dir, reference_source, first, capsys)
    write_profile(tiny_model_dir, reference_source, second, capsys)
    assert first.read_bytes() == second.read_bytes()
    assert f"({first.stat().st_size} bytes)" in printed.out and "windows of 20, 50, 100 reviews" in printed.out

    data = json.loads(first.read_text())
    vocabulary = json.loads((tiny_model_dir / "vocab.json").read_text())
    assert data["vocabulary"] == vocabulary
    assert data["text_settings"] == json.loads((tiny_model_dir / "preprocessing.json").read_text())
    assert sorted(data["thresholds"], key=int) == ["20", "50", "100"]
    assert set(data["thresholds"]["20"]) == {"unknown_token_rate", "length", "not_english", "score"}
    # A smaller window varies more between two draws of the same data, so chance allows more.
    assert data["thresholds"]["20"]["length"] > data["thresholds"]["100"]["length"]
    assert data["reference"]["reviews"] == 200 and sum(data["reference"]["length_counts"]) == 200
    assert data["about"]["reference_reviews"] == 200 and len(data["about"]["weights_sha256"]) == 64
    assert drift_core.Profile.loads(first.read_text()).window_sizes == [20, 50, 100]


@pytest.mark.parametrize("change", ["none", "shifted scores"])
def test_the_profile_gives_the_command_s_figures_without_the_model(change, tiny_model_dir, reference_source,
                                                                    tmp_path, capsys):
    """One implementation: for a window of captured answers the size of a profiled window, the
    profile (what the scheduled function has) gives every statistic, threshold and verdict of
    `sentiment drift` (which has the model and the training data)."""
    profile_file = tmp_path / "profile.json"
    write_profile(tiny_model_dir, reference_source, profile_file, capsys)
    from sentiment_model.artifact import load_predictor

    texts, rng = like_training(), random.Random(8)
    # The endpoint's own answers (six decimals, as it rounds them), or answers shifted up.
    scores = ([round(score, 6) for score in load_predictor(tiny_model_dir).predict(texts)] if change == "none"
              else [0.9 + rng.random() / 10 for _ in texts])
    capture = write_capture(tmp_path / "capture", texts, scores)
    status, printed, figures = run_drift(capsys, tiny_model_dir, reference_source, capture, tmp_path)

    requests, _ = drift.read_captures(capture)
    rows = drift_core.Profile.loads(profile_file.read_text()).check(requests)
    assert [(r.figure, r.statistic, r.threshold, r.drift) for r in rows] == [
        (f["figure"], f["statistic"], f["threshold"], f["drift"]) for f in figures["figures"]]
    assert status == (1 if change == "shifted scores" else 0), printed.out


def test_a_profile_needs_a_command_or_a_capture(capsys):
    with pytest.raises(SystemExit) as exit_:
        drift.main(["--model", "models/default"])
    assert exit_.value.code == 2 and "--write-profile" in capsys.readouterr().err
