#!/usr/bin/env python3
"""Score a file of reviews with SageMaker Batch Transform, on as many instances as you ask for.

1. The reviews (any input scripts/sentiment/evaluation/batch_score.py reads) go to the artifacts bucket as JSON lines,
   one {"review": ...} per line: s3://BUCKET/PREFIX/JOB/input/reviews.jsonl.
2. A transform job runs the deployed model over them: SplitType=Line and
   BatchStrategy=MultiRecord hand each instance up to --max-payload-mb of lines per request,
   which the inference handlers answer with one {"sentiment", "score"} line per review.
3. The command polls the job until it ends, downloads .../output/reviews.jsonl.out, joins it
   line by line with the input and writes the same predictions file as batch_score.py, with the
   evaluation figures when the input has labels.

The model's execution role must be able to read PREFIX/ and write PREFIX/*/output/ in the bucket.

    sentiment batch-transform --input ../shared/data/imdb/test.jsonl.gz \\
        --stack-outputs cdk-outputs.json --instance-type ml.m5.xlarge --instance-count 2
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sentiment.data.reviews import Review, SourceError, read_reviews
from sentiment.evaluation.batch_score import prediction
from sentiment.evaluation.metrics import compute_metrics, format_metrics
from sentiment.infra.aws_errors import client_error_parts, one_line
from sentiment.infra.stack_outputs import StackOutputsError, read_stack_outputs, require

INPUT_NAME = "reviews.jsonl"
JSON_LINES = "application/jsonlines"
# inference.py refuses bodies over 5 MiB and, by default, more than 10,000 reviews per request.
MAX_PAYLOAD_MB = 5
HANDLER_MAX_REVIEWS = 10_000
DONE = ("Completed", "Failed", "Stopped")


class TransformError(Exception):
    """The job failed or was stopped, or its output does not fit the input (one line)."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# ---------------------------------------------------------------------------------------------
# Pure parts: the request and the join
# ---------------------------------------------------------------------------------------------

def input_lines(items: list[Review]) -> bytes:
    # ASCII escapes keep U+2028, U+0085 and the like out of the body: the handler splits lines
    # with str.splitlines(), which breaks at those too.
    return "".join(json.dumps({"review": item.text}) + "\n" for item in items).encode("ascii")


def reviews_per_request_limit(body: bytes, max_payload_mb: int) -> int | None:
    """The handler's per-request review limit this input needs, or None when the default does:
    a payload of short lines can hold more than 10,000 reviews."""
    shortest = min(len(line) + 1 for line in body.splitlines())
    most = max_payload_mb * 1024 * 1024 // shortest + 1
    return most if most > HANDLER_MAX_REVIEWS else None


def transform_job_request(job_name: str, model_name: str, data: S3Location, output: S3Location,
                          instance_type: str, instance_count: int, max_payload_mb: int,
                          max_reviews: int | None = None) -> dict:
    request = {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": max_payload_mb,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data.uri}},
            "ContentType": JSON_LINES,
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output.uri, "Accept": "application/json", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    if max_reviews:
        request["Environment"] = {"MAX_REVIEWS_PER_REQUEST": str(max_reviews)}
    return request


def join_predictions(items: list[Review], output: str) -> tuple[list[dict], list[float]]:
    """Input reviews and output lines, in order, as prediction rows and scores."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) != len(items):
        raise TransformError(f"the job wrote {len(lines)} predictions for {len(items)} reviews")
    rows, scores = [], []
    for number, (item, line) in enumerate(zip(items, lines), start=1):
        try:
            answer = json.loads(line)
            score = float(answer["score"])
        except (ValueError, TypeError, KeyError):
            raise TransformError(f"output line {number} is not a prediction: {one_line(line)[:120]}") from None
        rows.append(prediction(item, score))
        scores.append(score)
    return rows, scores


# ---------------------------------------------------------------------------------------------
# AWS calls (clients passed in, so tests hand in stubbed ones)
# ---------------------------------------------------------------------------------------------

def upload(s3, location: S3Location, body: bytes) -> None:
    s3.put_object(Bucket=location.bucket, Key=location.key, Body=body, ContentType=JSON_LINES)


def wait_for_job(sagemaker, job_name: str, poll_seconds: float, sleep=time.sleep, progress: bool = True) -> dict:
    """The job's final description; TransformError when it failed or was stopped."""
    from tqdm import tqdm

    with tqdm(bar_format="transform job {desc} [{elapsed}]", disable=not progress) as bar:
        while True:
            description = sagemaker.describe_transform_job(TransformJobName=job_name)
            status = description["TransformJobStatus"]
            bar.set_description_str(f"{job_name}: {status}")
            if status in DONE:
                break
            sleep(poll_seconds)
    if status == "Failed":
        reason = one_line(description.get("FailureReason") or "no reason given")
        raise TransformError(f"transform job {job_name} failed: {reason}")
    if status == "Stopped":
        raise TransformError(f"transform job {job_name} was stopped before it finished")
    return description


def download(s3, location: S3Location) -> str:
    return s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read().decode("utf-8")


def make_clients(region: str | None):
    import boto3

    session = boto3.session.Session(region_name=region)
    return session.client("s3"), session.client("sagemaker")


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="reviews, in any format scripts/sentiment/evaluation/batch_score.py reads")
    parser.add_argument("--model-name", help="the SageMaker model to run (default: the model behind --endpoint-name)")
    parser.add_argument("--endpoint-name", help="take the model from this endpoint's configuration")
    parser.add_argument("--bucket", help="bucket for input and output (default: ArtifactsBucketName of --stack-outputs)")
    parser.add_argument("--stack-outputs", help="cdk deploy --outputs-file JSON: bucket and endpoint come from it")
    parser.add_argument("--prefix", default="batch-transform", help="key prefix in the bucket (default: batch-transform)")
    parser.add_argument("--job-name", help="transform job name (default: sentiment-<UTC time>)")
    parser.add_argument("--instance-type", default="ml.m5.large", help="instance type (default: ml.m5.large)")
    parser.add_argument("--instance-count", type=int, default=1, help="instances (default: 1)")
    parser.add_argument("--max-payload-mb", type=int, default=1,
                        help=f"most MB of reviews per request, 1 to {MAX_PAYLOAD_MB} (default: 1)")
    parser.add_argument("--poll-seconds", type=float, default=30, help="seconds between status checks (default: 30)")
    parser.add_argument("--region", help="AWS region (default: the SDK's configuration)")
    parser.add_argument("--out", default="build/transform-predictions.jsonl",
                        help="predictions file, JSON lines (default: build/transform-predictions.jsonl)")
    parser.add_argument("--split", default="test", choices=("test", "train"), help="split of an aclImdb source")
    parser.add_argument("--text-column", help="CSV column holding the review")
    parser.add_argument("--label-column", help="CSV column holding the label")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument("--dry-run", action="store_true",
                        help="read the input and print the upload and the CreateTransformJob request; call no AWS API")
    args = parser.parse_args(argv)
    if args.instance_count < 1:
        parser.error("--instance-count must be at least 1")
    if not 1 <= args.max_payload_mb <= MAX_PAYLOAD_MB:
        parser.error(f"--max-payload-mb must be 1 to {MAX_PAYLOAD_MB} (the inference handlers' body limit)")
    if args.poll_seconds <= 0:
        parser.error("--poll-seconds must be positive")
    args.job_name = args.job_name or time.strftime("sentiment-%Y%m%d-%H%M%S", time.gmtime())
    return args


def resolve_targets(args: argparse.Namespace, sagemaker) -> tuple[str, str]:
    """(bucket, model name) from the flags, the outputs file and the endpoint's configuration."""
    outputs = read_stack_outputs(args.stack_outputs) if args.stack_outputs else {}
    bucket = args.bucket or (require(outputs, "ArtifactsBucketName", args.stack_outputs) if outputs else None)
    if not bucket:
        raise StackOutputsError("no bucket: pass --bucket or --stack-outputs")
    if args.model_name:
        return bucket, args.model_name
    endpoint = args.endpoint_name or (require(outputs, "EndpointName", args.stack_outputs) if outputs else None)
    if not endpoint:
        raise StackOutputsError("no model: pass --model-name, --endpoint-name or --stack-outputs")
    if sagemaker is None:  # --dry-run: no AWS request
        return bucket, f"<the model of endpoint {endpoint}>"
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    return bucket, variants[0]["ModelName"]


def run(args: argparse.Namespace, s3=None, sagemaker=None, sleep=time.sleep) -> dict:
    items = read_reviews(args.input, args.split, args.text_column, args.label_column, progress=not args.quiet)
    if not args.dry_run and (s3 is None or sagemaker is None):
        s3, sagemaker = make_clients(args.region)
    bucket, model_name = resolve_targets(args, None if args.dry_run else sagemaker)
    base = f"{args.prefix.strip('/')}/{args.job_name}" if args.prefix.strip("/") else args.job_name
    data = S3Location(bucket, f"{base}/input/{INPUT_NAME}")
    output = S3Location(bucket, f"{base}/output")
    body = input_lines(items)
    request = transform_job_request(args.job_name, model_name, data, output, args.instance_type,
                                    args.instance_count, args.max_payload_mb,
                                    reviews_per_request_limit(body, args.max_payload_mb))
    if args.dry_run:
        print(f"would upload {len(items):,} reviews ({len(body) / 1e6:.1f} MB) to {data.uri}, then "
              f"CreateTransformJob:\n{json.dumps(request, indent=2)}")
        return {"reviews": len(items), "request": request}

    print(f"uploading {len(items):,} reviews ({len(body) / 1e6:.1f} MB) to {data.uri}", flush=True)
    upload(s3, data, body)
    sagemaker.create_transform_job(**request)
    print(f"started transform job {args.job_name} on {args.instance_count} x {args.instance_type} "
          f"with model {model_name}", flush=True)
    started = time.monotonic()
    try:
        description = wait_for_job(sagemaker, args.job_name, args.poll_seconds, sleep, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\nstopped waiting; the job keeps running. Stop it with: aws sagemaker stop-transform-job "
              f"--transform-job-name {args.job_name}", file=sys.stderr)
        raise
    result = S3Location(bucket, f"{output.key}/{INPUT_NAME}.out")
    rows, scores = join_predictions(items, download(s3, result))

    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    except OSError as error:
        raise SourceError(f"{out}: cannot be written ({error.strerror or error})") from None
    summary = {"reviews": len(rows), "job": args.job_name, "status": description["TransformJobStatus"],
               "output": result.uri, "seconds": time.monotonic() - started}
    labelled = [(item.label, score) for item, score in zip(items, scores) if item.label is not None]
    if labelled:
        summary["metrics"] = compute_metrics([label for label, _ in labelled], [score for _, score in labelled])
        print(format_metrics(summary["metrics"]))
    print(f"transform job {args.job_name} scored {len(rows):,} reviews; wrote {out} (from {result.uri})")
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        run(args)
    except (SourceError, StackOutputsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ClientError as error:
        print("error: {}: {}: {}".format(*client_error_parts(error)), file=sys.stderr)
        return 2
    except BotoCoreError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except TransformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
