"""The scheduled drift check (lambda/drift_check/handler.py) against botocore's Stubber: it lists the
capture files of the 24 complete hours before its run, reads them within its caps, and publishes
the figures of sentiment.evaluation.drift_core to CloudWatch; captures drawn like the training
data stay quiet, drifting ones set Drifted; a quiet day publishes Records alone; and the bundle
the stack ships runs on the standard library alone."""
from __future__ import annotations

import base64
import importlib.util
import io
import json
import random
import subprocess
import sys
from datetime import datetime, timezone

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from support import synthetic_reviews

from sentiment.evaluation import drift, drift_core
from sentiment.paths import ROOT
from sentiment_model.preprocessing import TextSettings, Tokenizer, build_vocabulary

HANDLER_FILE = ROOT / "lambda" / "drift_check" / "handler.py"
CYRILLIC = ["фильм", "был", "очень", "скучный", "актёры", "играли", "плохо", "сюжет", "отличный", "хороший"]
PREFIX = "data-capture/sentiment-dev/AllTraffic/"
ENVIRONMENT = {"ENDPOINT_NAME": "sentiment-dev", "CAPTURE_BUCKET": "artifacts", "CAPTURE_PREFIX": PREFIX,
               "PROFILE_BUCKET": "assets", "PROFILE_KEY": "abc123.json", "METRIC_NAMESPACE": "Sentiment/Drift"}
# EventBridge's scheduled event at 01:15 UTC: the window is 2026-12-04 01:00 to 2026-12-05 01:00.
EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-12-05T01:15:00Z"}
WINDOW_END = datetime(2026, 12, 5, 1, tzinfo=timezone.utc)


def load_handler():
    """The handler loaded from its file, as the Lambda runtime loads it (lambda/ is not a package)."""
    spec = importlib.util.spec_from_file_location("drift_check_handler", HANDLER_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


handler = load_handler()


def synthetic_score(label: int, rng: random.Random) -> float:
    """Confident like the model: positives above 0.6, negatives below 0.4."""
    return round(0.6 + 0.4 * rng.random() if label else 0.4 * rng.random(), 6)


@pytest.fixture(scope="module")
def profile() -> drift_core.Profile:
    """A profile as --write-profile builds it, from 1,200 synthetic reviews scored like the model."""
    settings = TextSettings()
    tokenizer = Tokenizer(settings)
    rows = synthetic_reviews(1200, seed=11)
    vocabulary = build_vocabulary((tokenizer(row["text"]) for row in rows), 200)
    rng = random.Random(1)
    reference = [drift_core.read_review(row["text"], synthetic_score(row["label"], rng), tokenizer, set(vocabulary))
                 for row in rows]
    return drift.build_profile(reference, text_settings=settings.to_json(), vocabulary=vocabulary,
                               sizes=(50, 100, 200), trials=100, about={"model": "synthetic"})


def traffic(count: int, change: str = "none", seed: int = 21) -> list[tuple[str, float]]:
    rng = random.Random(seed)
    rows = synthetic_reviews(count, seed=seed)
    pairs = [(row["text"], synthetic_score(row["label"], rng)) for row in rows]
    if change == "another language":
        pairs = [(" ".join(rng.choice(CYRILLIC) for _ in range(rng.randint(5, 40))), score) if i % 3 == 0
                 else (text, score) for i, (text, score) in enumerate(pairs)]
    elif change == "much longer":
        pairs = [(" ".join([text] * 6), score) for text, score in pairs]
    elif change == "unknown words":
        pairs = [(" ".join(w if rng.random() < 0.8 else f"zq{rng.randrange(10**6)}x" for w in text.split()), score)
                 for text, score in pairs]
    elif change == "shifted scores":
        pairs = [(text, round(0.9 + rng.random() / 10, 6)) for text, _ in pairs]
    return pairs


def capture_line(index: int, text: str, score: float | None) -> str:
    """One request as SageMaker captures it for this endpoint: JSON bodies as text (the capture
    config names application/json), plain text base64-encoded."""
    if index % 2:
        request = {"observedContentType": "application/json", "mode": "INPUT",
                   "data": json.dumps({"review": text}), "encoding": "JSON"}
    else:
        request = {"observedContentType": "text/plain", "mode": "INPUT",
                   "data": base64.b64encode(text.encode()).decode(), "encoding": "BASE64"}
    capture = {"endpointInput": request}
    if score is not None:
        capture["endpointOutput"] = {"observedContentType": "application/json", "mode": "OUTPUT", "encoding": "JSON",
                                     "data": json.dumps({"sentiment": "positive" if score >= 0.5 else "negative",
                                                         "score": score})}
    return json.dumps({"captureData": capture, "eventMetadata": {"eventId": str(index)}, "eventVersion": "0"})


def capture_file(pairs, with_scores: bool = True) -> bytes:
    return "".join(capture_line(i, text, score if with_scores else None) + "\n"
                   for i, (text, score) in enumerate(pairs)).encode()


def body(data: bytes) -> dict:
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


@pytest.fixture
def clients():
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
    with Stubber(s3) as s3_stub, Stubber(cloudwatch) as cloudwatch_stub:
        yield s3, s3_stub, cloudwatch, cloudwatch_stub
        s3_stub.assert_no_pending_responses()
        cloudwatch_stub.assert_no_pending_responses()


def stub_profile(s3_stub, profile):
    s3_stub.add_response("get_object", body(profile.dumps().encode()), {"Bucket": "assets", "Key": "abc123.json"})


def stub_listing(s3_stub, day: str, objects: dict[str, bytes]):
    contents = [{"Key": key, "Size": len(data)} for key, data in objects.items()]
    s3_stub.add_response("list_objects_v2", {"Contents": contents, "IsTruncated": False, "KeyCount": len(contents)},
                         {"Bucket": "artifacts", "Prefix": f"{PREFIX}{day}/"})


def shuffled(keys) -> list[str]:
    """The order the handler reads files in: shuffled by the window's end, documented."""
    order = sorted(keys)
    random.Random(WINDOW_END.isoformat()).shuffle(order)
    return order


def run_one_day(clients, profile, objects: dict[str, bytes], settings=None, ranges=None):
    """A run at 01:15 whose capture files all lie in 2026-12-04's hour folders from 01 on."""
    s3, s3_stub, cloudwatch, cloudwatch_stub = clients
    stub_profile(s3_stub, profile)
    stub_listing(s3_stub, "2026/12/04", objects)
    stub_listing(s3_stub, "2026/12/05", {})
    for key in shuffled(objects):
        params = {"Bucket": "artifacts", "Key": key, **({"Range": ranges[key]} if ranges and key in ranges else {})}
        data = objects[key]
        if params.get("Range"):
            data = data[: int(params["Range"].split("-")[1]) + 1]
        s3_stub.add_response("get_object", body(data), params)
    cloudwatch_stub.add_response("put_metric_data", {}, {"Namespace": "Sentiment/Drift", "MetricData": ANY})
    return handler.run(EVENT, settings or handler.Settings.from_environ(ENVIRONMENT), s3, cloudwatch)


def drifted(report) -> set[str]:
    return {figure["figure"] for figure in report["figures"] if figure["drift"]}


# --- the window, the files and the metrics ----------------------------------------------------

def test_it_reads_the_24_complete_hours_before_the_run_and_publishes_every_figure(clients, profile):
    """Files of the hour before the window and of the current hour are left alone; the metrics
    go to the namespace with the endpoint as dimension, stamped with the window's end, and their
    values are drift_core's figures of exactly the reviews in the window."""
    s3, s3_stub, cloudwatch, cloudwatch_stub = clients
    pairs = traffic(120)
    files = {f"{PREFIX}2026/12/04/01/10-00-000-b.jsonl": capture_file(pairs[:40]),
             f"{PREFIX}2026/12/04/23/50-00-000-c.jsonl": capture_file(pairs[40:80]),
             f"{PREFIX}2026/12/05/00/20-00-000-d.jsonl": capture_file(pairs[80:])}
    outside = {f"{PREFIX}2026/12/04/00/59-00-000-a.jsonl": 10, f"{PREFIX}2026/12/05/01/05-00-000-e.jsonl": 10}
    stub_profile(s3_stub, profile)
    stub_listing(s3_stub, "2026/12/04", {**{k: b"x" * v for k, v in outside.items() if "/04/00/" in k},
                                         **{k: v for k, v in files.items() if "/12/04/" in k}})
    stub_listing(s3_stub, "2026/12/05", {**{k: v for k, v in files.items() if "/12/05/" in k},
                                         **{k: b"x" * v for k, v in outside.items() if "/05/01/" in k}})
    for key in shuffled(files):
        s3_stub.add_response("get_object", body(files[key]), {"Bucket": "artifacts", "Key": key})

    rows = {row.key: row for row in profile.check([drift_core.Request(t, s) for t, s in pairs])}
    dimensions = [{"Name": "EndpointName", "Value": "sentiment-dev"}]

    def datum(name, value, unit="None"):
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": WINDOW_END, "Value": value, "Unit": unit}

    cloudwatch_stub.add_response("put_metric_data", {}, {"Namespace": "Sentiment/Drift", "MetricData": [
        datum("Records", 120.0, "Count"),
        datum("UnknownTokenRate", rows["unknown_token_rate"].captured),
        datum("LengthPSI", rows["length"].statistic),
        datum("NotEnglishShare", rows["not_english"].captured),
        datum("ScorePSI", rows["score"].statistic),
        datum("Drifted", 0.0),
    ]})

    report = handler.run(EVENT, handler.Settings.from_environ(ENVIRONMENT), s3, cloudwatch)
    assert report["verdict"] == "no drift" and report["records"] == 120 and report["files"] == 3
    assert report["window_start"] == "2026-12-04T01:00:00+00:00" and report["window_end"] == "2026-12-05T01:00:00+00:00"
    assert {figure["window"] for figure in report["figures"]} == {100}   # the largest profiled size <= 120
    assert report["model"] == "synthetic"


def test_a_day_with_too_few_records_publishes_records_alone(clients, profile):
    """Thirty reviews say nothing the thresholds can judge: Records, and no Drifted to raise or
    clear the alarm."""
    s3, s3_stub, cloudwatch, cloudwatch_stub = clients
    key = f"{PREFIX}2026/12/04/12/00-00-000-a.jsonl"
    stub_profile(s3_stub, profile)
    stub_listing(s3_stub, "2026/12/04", {key: capture_file(traffic(30))})
    stub_listing(s3_stub, "2026/12/05", {})
    s3_stub.add_response("get_object", body(capture_file(traffic(30))), {"Bucket": "artifacts", "Key": key})
    cloudwatch_stub.add_response("put_metric_data", {}, {"Namespace": "Sentiment/Drift", "MetricData": [
        {"MetricName": "Records", "Dimensions": [{"Name": "EndpointName", "Value": "sentiment-dev"}],
         "Timestamp": WINDOW_END, "Value": 30.0, "Unit": "Count"}]})

    report = handler.run(EVENT, handler.Settings.from_environ(ENVIRONMENT), s3, cloudwatch)
    assert report["verdict"] == "too few records" and report["needed"] == 50 and report["figures"] == []


def test_a_day_without_any_capture_publishes_zero_records(clients, profile):
    s3, s3_stub, cloudwatch, cloudwatch_stub = clients
    stub_profile(s3_stub, profile)
    stub_listing(s3_stub, "2026/12/04", {})
    stub_listing(s3_stub, "2026/12/05", {})
    cloudwatch_stub.add_response("put_metric_data", {}, {"Namespace": "Sentiment/Drift", "MetricData": [
        {"MetricName": "Records", "Dimensions": [{"Name": "EndpointName", "Value": "sentiment-dev"}],
         "Timestamp": WINDOW_END, "Value": 0.0, "Unit": "Count"}]})
    assert handler.run(EVENT, handler.Settings.from_environ(ENVIRONMENT), s3, cloudwatch)["records"] == 0


# --- drift and no drift -----------------------------------------------------------------------

def test_traffic_drawn_like_the_training_data_is_not_drift(clients, profile):
    key = f"{PREFIX}2026/12/04/12/00-00-000-a.jsonl"
    report = run_one_day(clients, profile, {key: capture_file(traffic(150))})
    assert report["verdict"] == "no drift" and drifted(report) == set()
    assert handler.metric_data(handler.Settings.from_environ(ENVIRONMENT), report, WINDOW_END)[-1]["Value"] == 0


@pytest.mark.parametrize(("change", "expected"), [
    ("another language", {"not_english", "unknown_token_rate"}),
    ("much longer", {"length"}),
    ("unknown words", {"unknown_token_rate"}),
    ("shifted scores", {"score"}),
])
def test_drifting_traffic_sets_drifted_through_the_figure_it_changes(change, expected, clients, profile):
    files = {f"{PREFIX}2026/12/04/{hour:02d}/00-00-000-a.jsonl": capture_file(traffic(50, change, seed=hour))
             for hour in (3, 9, 17)}
    report = run_one_day(clients, profile, files)
    assert report["verdict"] == "drift" and expected <= drifted(report)
    if change in ("much longer", "shifted scores"):
        assert drifted(report) == expected
    data = handler.metric_data(handler.Settings.from_environ(ENVIRONMENT), report, WINDOW_END)
    assert data[-1] == {"MetricName": "Drifted", "Dimensions": [{"Name": "EndpointName", "Value": "sentiment-dev"}],
                        "Timestamp": WINDOW_END, "Value": 1.0, "Unit": "None"}


def test_without_captured_scores_the_score_figure_is_left_out_not_guessed(clients, profile):
    """Where the capture holds no answer (input-only capture, error answers), the function has no
    model to score with: ScorePSI is not published, the other figures still decide."""
    key = f"{PREFIX}2026/12/04/12/00-00-000-a.jsonl"
    report = run_one_day(clients, profile, {key: capture_file(traffic(150), with_scores=False)})
    assert [figure["figure"] for figure in report["figures"]] == ["unknown_token_rate", "length", "not_english"]
    names = [d["MetricName"] for d in handler.metric_data(handler.Settings.from_environ(ENVIRONMENT), report, WINDOW_END)]
    assert names == ["Records", "UnknownTokenRate", "LengthPSI", "NotEnglishShare", "Drifted"]


# --- caps and bad lines -----------------------------------------------------------------------

def test_reading_stops_at_the_record_cap(clients, profile):
    files = {f"{PREFIX}2026/12/04/{hour:02d}/00-00-000-a.jsonl": capture_file(traffic(40, seed=hour))
             for hour in (2, 3, 4)}
    settings = handler.Settings.from_environ({**ENVIRONMENT, "MAX_RECORDS": "60"})
    s3, s3_stub, cloudwatch, cloudwatch_stub = clients
    stub_profile(s3_stub, profile)
    stub_listing(s3_stub, "2026/12/04", files)
    stub_listing(s3_stub, "2026/12/05", {})
    for key in shuffled(files)[:2]:   # the third file is never fetched
        s3_stub.add_response("get_object", body(files[key]), {"Bucket": "artifacts", "Key": key})
    cloudwatch_stub.add_response("put_metric_data", {}, {"Namespace": "Sentiment/Drift", "MetricData": ANY})
    report = handler.run(EVENT, settings, s3, cloudwatch)
    assert report["records"] == 60 and report["capped"] and report["files_read"] == 2


def test_a_file_past_the_byte_cap_is_read_in_part_and_its_cut_line_dropped(clients, profile):
    data = capture_file(traffic(120))
    key = f"{PREFIX}2026/12/04/12/00-00-000-a.jsonl"
    cap = len(data) // 2
    settings = handler.Settings.from_environ({**ENVIRONMENT, "MAX_BYTES": str(cap)})
    report = run_one_day(clients, profile, {key: data}, settings, ranges={key: f"bytes=0-{cap - 1}"})
    whole_lines = data[:cap].count(b"\n")
    assert report["records"] == whole_lines and report["unreadable_lines"] == 0
    assert report["capped"] and report["bytes_read"] == cap


def test_a_line_that_is_not_a_capture_record_is_counted_not_fatal(clients, profile):
    """One corrupt line must not blind a day's check."""
    data = capture_file(traffic(60)) + b"not json\n" + b'{"captureData": {}}\n'
    report = run_one_day(clients, profile, {f"{PREFIX}2026/12/04/12/00-00-000-a.jsonl": data})
    assert report["records"] == 60 and report["unreadable_lines"] == 2 and report["verdict"] == "no drift"


# --- settings, profile and bundle -------------------------------------------------------------

def test_the_window_ends_at_the_hour_the_run_was_scheduled_in():
    assert handler.window_end({"time": "2026-12-05T00:20:00Z"}) == datetime(2026, 12, 5, tzinfo=timezone.utc)
    assert handler.window_end({}).minute == 0
    settings = handler.Settings.from_environ(ENVIRONMENT)
    assert (settings.window_hours, settings.max_records, settings.max_bytes) == (24, 5000, 32 * 1024 * 1024)


def test_a_profile_of_a_stemmed_model_is_refused_in_one_line(profile):
    """The function ships no NLTK: a seed-mode profile would count every stemmed word as unknown."""
    data = json.loads(profile.dumps())
    data["text_settings"].update(mode="seed", stem=True)
    with pytest.raises(drift_core.ProfileError, match="needs NLTK") as error:
        drift_core.Profile.loads(json.dumps(data), "s3://assets/abc123.json")
    assert "\n" not in str(error.value)


def test_the_shipped_bundle_runs_on_the_standard_library_alone(profile, tmp_path):
    """What the stack ships (stacks.drift_check.write_bundle) imports and judges a window in a
    Python with no site-packages at all: no torch, numpy or boto3 hides in the statistics."""
    from stacks.drift_check import write_bundle

    bundle = write_bundle(tmp_path / "bundle")
    (tmp_path / "profile.json").write_text(profile.dumps(), encoding="utf-8")
    (tmp_path / "capture.jsonl").write_bytes(capture_file(traffic(120, "another language")))
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        "import handler\n"
        "from sentiment.evaluation.drift_core import Profile, parse_record\n"
        f"profile = Profile.loads(open({str(tmp_path / 'profile.json')!r}).read())\n"
        f"lines = open({str(tmp_path / 'capture.jsonl')!r}).read().splitlines()\n"
        "requests = [r for n, line in enumerate(lines) for r in parse_record(line, str(n))]\n"
        "outcome = handler.judge(requests, profile)\n"
        "heavy = sorted(set(sys.modules) & {'torch', 'numpy', 'boto3', 'botocore'})\n"
        "print(json.dumps({'verdict': outcome['verdict'], 'heavy': heavy, 'core': handler.parse_record.__module__,"
        " 'file': sys.modules['sentiment.evaluation.drift_core'].__file__}))\n")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == {"verdict": "drift", "heavy": [], "core": "sentiment.evaluation.drift_core",
                      "file": str(bundle / "sentiment" / "evaluation" / "drift_core.py")}
