"""Batch Transform: every S3 and SageMaker request checked by botocore's Stubber against the
services' real API models (a parameter SageMaker would refuse fails here), for a completed, a
failed and a stopped job, plus the join of the job's output with the input."""
import datetime
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from sentiment.data.reviews import Review as Item
from sentiment.evaluation import batch_transform

BUCKET = "sentimentmodel-artifacts-abc"
JOB = "sentiment-test-job"
MODEL = "SentimentModel-abc123"
INPUT_KEY = f"batch-transform/{JOB}/input/reviews.jsonl"
OUTPUT_KEY = f"batch-transform/{JOB}/output/reviews.jsonl.out"


@pytest.fixture
def clients(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3 = boto3.client("s3", region_name="us-east-1")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(s3) as s3_stub, Stubber(sagemaker) as sagemaker_stub:
        yield s3, sagemaker, s3_stub, sagemaker_stub
        s3_stub.assert_no_pending_responses()
        sagemaker_stub.assert_no_pending_responses()


@pytest.fixture
def reviews(tmp_path):
    source = tmp_path / "reviews.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in [
        {"text": "A wonderful film.", "label": 1, "id": "p1"},
        {"text": "Dull and \"awful\".\nTruly.", "label": 0, "id": "n1"},
        {"text": "Loved it.", "label": 1, "id": "p2"},
    ]) + "\n")
    return source


def job_description(status, **extra):
    return {
        "TransformJobName": JOB, "TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB}",
        "TransformJobStatus": status, "ModelName": MODEL,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": f"s3://{BUCKET}/{INPUT_KEY}"}}},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
        "CreationTime": datetime.datetime(2026, 11, 28, 12, 0, 0), **extra,
    }


def expect_upload_and_start(s3_stub, sagemaker_stub, body=ANY):
    s3_stub.add_response("put_object", {"ETag": '"abc"'}, {
        "Bucket": BUCKET, "Key": INPUT_KEY, "Body": body, "ContentType": "application/jsonlines"})
    sagemaker_stub.add_response("create_transform_job", {"TransformJobArn": job_description("InProgress")[
        "TransformJobArn"]}, {
        "TransformJobName": JOB, "ModelName": MODEL, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 1,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": f"s3://{BUCKET}/{INPUT_KEY}"}},
                           "ContentType": "application/jsonlines", "CompressionType": "None", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/batch-transform/{JOB}/output",
                            "Accept": "application/json", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
        # These one-line reviews pack more than the handler's default 10,000 into 1 MB.
        "Environment": {"MAX_REVIEWS_PER_REQUEST": ANY},
    })


def argv_for(source, tmp_path):
    return ["--input", str(source), "--bucket", BUCKET, "--model-name", MODEL, "--job-name", JOB,
            "--instance-type", "ml.m5.xlarge", "--instance-count", "2", "--poll-seconds", "5",
            "--out", str(tmp_path / "out.jsonl"), "--quiet"]


def output_body(lines):
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


def test_a_completed_job_is_uploaded_run_polled_downloaded_and_joined(clients, reviews, tmp_path, capsys):
    s3, sagemaker, s3_stub, sagemaker_stub = clients
    expected_body = (b'{"review": "A wonderful film."}\n{"review": "Dull and \\"awful\\".\\nTruly."}\n'
                     b'{"review": "Loved it."}\n')
    expect_upload_and_start(s3_stub, sagemaker_stub, body=expected_body)
    for status in ("InProgress", "InProgress", "Completed"):
        sagemaker_stub.add_response("describe_transform_job", job_description(status), {"TransformJobName": JOB})
    s3_stub.add_response("get_object", output_body([
        {"sentiment": "positive", "score": 0.91}, {"sentiment": "negative", "score": 0.12},
        {"sentiment": "negative", "score": 0.4}]), {"Bucket": BUCKET, "Key": OUTPUT_KEY})
    sleeps = []

    summary = batch_transform.run(batch_transform.parse_args(argv_for(reviews, tmp_path)), s3, sagemaker, sleep=sleeps.append)

    assert sleeps == [5, 5]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows == [{"id": "p1", "sentiment": "positive", "score": 0.91, "label": 1},
                    {"id": "n1", "sentiment": "negative", "score": 0.12, "label": 0},
                    {"id": "p2", "sentiment": "negative", "score": 0.4, "label": 1}]
    assert summary["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert "accuracy   0.6667" in capsys.readouterr().out


def test_a_failed_job_is_one_line_with_the_reason_and_exit_code_1(clients, reviews, tmp_path, monkeypatch, capsys):
    s3, sagemaker, s3_stub, sagemaker_stub = clients
    expect_upload_and_start(s3_stub, sagemaker_stub)
    sagemaker_stub.add_response("describe_transform_job", job_description(
        "Failed", FailureReason="ClientError: See job logs for more information.\nInvalid input line 3"),
        {"TransformJobName": JOB})
    monkeypatch.setattr(batch_transform, "make_clients", lambda region: (s3, sagemaker))

    assert batch_transform.main(argv_for(reviews, tmp_path)) == 1
    error = capsys.readouterr().err.strip()
    assert error == (f"error: transform job {JOB} failed: ClientError: See job logs for more "
                     "information. Invalid input line 3")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_stopped_job_says_so_and_exits_1(clients, reviews, tmp_path, monkeypatch, capsys):
    s3, sagemaker, s3_stub, sagemaker_stub = clients
    expect_upload_and_start(s3_stub, sagemaker_stub)
    sagemaker_stub.add_response("describe_transform_job", job_description("Stopping"), {"TransformJobName": JOB})
    sagemaker_stub.add_response("describe_transform_job", job_description("Stopped"), {"TransformJobName": JOB})
    monkeypatch.setattr(batch_transform, "make_clients", lambda region: (s3, sagemaker))
    monkeypatch.setattr(batch_transform.time, "sleep", lambda seconds: None)

    assert batch_transform.main(argv_for(reviews, tmp_path)) == 1
    assert capsys.readouterr().err.strip() == f"error: transform job {JOB} was stopped before it finished"


def test_an_aws_error_is_one_line_and_exit_code_2(clients, reviews, tmp_path, monkeypatch, capsys):
    s3, sagemaker, s3_stub, _ = clients
    s3_stub.add_client_error("put_object", "NoSuchBucket", "The specified bucket does not exist", 404)
    monkeypatch.setattr(batch_transform, "make_clients", lambda region: (s3, sagemaker))

    assert batch_transform.main(argv_for(reviews, tmp_path)) == 2
    assert capsys.readouterr().err.strip() == \
        "error: PutObject: NoSuchBucket: The specified bucket does not exist"


def test_the_model_comes_from_the_endpoint_in_the_stack_outputs(clients, reviews, tmp_path):
    _, sagemaker, _, sagemaker_stub = clients
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({"SentimentModel": {"EndpointName": "sentiment", "ArtifactsBucketName": BUCKET},
                                   "SentimentWeb": {"SiteUrl": "https://d.example", "ApiUrl": "https://a.example"}}))
    sagemaker_stub.add_response("describe_endpoint", {
        "EndpointName": "sentiment", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sentiment",
        "EndpointConfigName": "sentiment-config-1", "EndpointStatus": "InService",
        "CreationTime": datetime.datetime(2026, 11, 1), "LastModifiedTime": datetime.datetime(2026, 11, 1),
    }, {"EndpointName": "sentiment"})
    sagemaker_stub.add_response("describe_endpoint_config", {
        "EndpointConfigName": "sentiment-config-1",
        "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/sentiment-config-1",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": MODEL,
                                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}],
        "CreationTime": datetime.datetime(2026, 11, 1),
    }, {"EndpointConfigName": "sentiment-config-1"})
    args = batch_transform.parse_args(["--input", str(reviews), "--stack-outputs", str(outputs)])
    assert batch_transform.resolve_targets(args, sagemaker) == (BUCKET, MODEL)


def test_a_dry_run_prints_the_request_and_calls_no_aws_api(reviews, tmp_path, monkeypatch, capsys):
    def no_clients(region):
        raise AssertionError("a dry run must not make AWS clients")

    monkeypatch.setattr(batch_transform, "make_clients", no_clients)
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({"SentimentModel": {"EndpointName": "sentiment", "ArtifactsBucketName": BUCKET}}))
    assert batch_transform.main(["--input", str(reviews), "--stack-outputs", str(outputs), "--job-name", JOB,
                                 "--dry-run", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"would upload 3 reviews (0.0 MB) to s3://{BUCKET}/{INPUT_KEY}" in printed
    request = json.loads(printed[printed.index("{"):])
    assert request["ModelName"] == "<the model of endpoint sentiment>"
    assert request["TransformInput"]["SplitType"] == "Line" and request["BatchStrategy"] == "MultiRecord"


def test_short_reviews_raise_the_handlers_per_request_limit():
    """A 1 MB payload of one-word reviews holds more than the handler's default 10,000 reviews."""
    short = batch_transform.input_lines([Item("ok")] * 5)
    limit = batch_transform.reviews_per_request_limit(short, 1)
    assert limit > 10_000 and limit * len(b'{"review": "ok"}\n') > 1024 * 1024
    request = batch_transform.transform_job_request(
        JOB, MODEL, batch_transform.S3Location(BUCKET, "in"), batch_transform.S3Location(BUCKET, "out"),
        "ml.m5.large", 1, 1, limit)
    assert request["Environment"] == {"MAX_REVIEWS_PER_REQUEST": str(limit)}
    imdb_sized = batch_transform.input_lines([Item("word " * 200)] * 5)
    assert batch_transform.reviews_per_request_limit(imdb_sized, 1) is None


def test_every_review_is_exactly_one_line_for_the_handler():
    """inference.py splits with str.splitlines(), which also breaks at U+2028, U+0085 and form feeds."""
    from sentiment_model.serving import input_fn

    texts = ["line\u2028separator", "next\x85line", "form\x0cfeed", "caf\u00e9 \U0001F3AC", "two\nlines"]
    body = batch_transform.input_lines([Item(text) for text in texts])
    assert input_fn(body, "application/jsonlines").texts == texts


def test_output_that_does_not_match_the_input_is_an_error():
    items = [Item("one"), Item("two")]
    with pytest.raises(batch_transform.TransformError, match="1 predictions for 2 reviews"):
        batch_transform.join_predictions(items, '{"sentiment": "positive", "score": 0.9}\n')
    with pytest.raises(batch_transform.TransformError, match="output line 2"):
        batch_transform.join_predictions(items, '{"sentiment": "positive", "score": 0.9}\n{"error": "x"}\n')


@pytest.mark.parametrize("argv, message", [
    (["--instance-count", "0"], "--instance-count"),
    (["--max-payload-mb", "6"], "--max-payload-mb"),
])
def test_bad_flags_are_refused(reviews, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        batch_transform.parse_args(["--input", str(reviews), "--bucket", BUCKET, "--model-name", MODEL, *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_missing_bucket_or_input_is_one_line_and_exit_code_2(clients, reviews, tmp_path, monkeypatch, capsys):
    s3, sagemaker, _, _ = clients
    monkeypatch.setattr(batch_transform, "make_clients", lambda region: (s3, sagemaker))
    assert batch_transform.main(["--input", str(reviews), "--model-name", MODEL]) == 2
    assert capsys.readouterr().err.strip() == "error: no bucket: pass --bucket or --stack-outputs"
    assert batch_transform.main(["--input", str(tmp_path / "nope.jsonl"), "--bucket", BUCKET,
                                 "--model-name", MODEL]) == 2
    assert "nope.jsonl: not found" in capsys.readouterr().err

