"""Scheduled drift check: the last day of the endpoint's captured traffic against the training data.

Once a day (stacks/drift_check.py schedules it) the function lists the data capture files of the
last WINDOW_HOURS complete hours (SageMaker writes them to
s3://<bucket>/<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl, hours in UTC), reads them,
loads the profile `sentiment drift --write-profile` wrote (the tokenizer's settings, the
vocabulary, the reference's figures and thresholds per window size) and publishes, in namespace
METRIC_NAMESPACE with the endpoint's name as dimension EndpointName:

    Records           reviews read in the window (always)
    UnknownTokenRate  share of their tokens outside the model's vocabulary
    LengthPSI         PSI of their lengths against the reference's
    NotEnglishShare   share of reviews that do not read as English to the model
    ScorePSI          PSI of the endpoint's captured scores against the reference's
    Drifted           1 when any figure is past its threshold, else 0

With fewer reviews than the profile's smallest window, only Records is published: the figures of a
handful of reviews are noise, and the thresholds say nothing about them. ScorePSI is left out
alone when too few captured answers hold a score. Every datapoint is stamped with the window's end,
so a rerun for the same window replaces nothing and adds the same figures.

Reading is capped (MAX_RECORDS reviews, MAX_BYTES bytes) so the run's time and memory stay bounded
whatever the traffic: the figures of a few thousand reviews hardly move with more (a share's
standard error at 5,000 is under 0.007), and the thresholds stop at the profile's largest window.
Files are read in an order shuffled by the window's end, so a capped sample spans the whole day
rather than its first hours. A line that is not a capture record is counted and skipped (one bad
line must not blind the check); the statistics are sentiment.evaluation.drift_core, the same code
as `sentiment drift`, shipped beside this file.

Environment: ENDPOINT_NAME, CAPTURE_BUCKET, CAPTURE_PREFIX (ending in <endpoint>/<variant>/),
PROFILE_BUCKET, PROFILE_KEY, METRIC_NAMESPACE, WINDOW_HOURS (24), MAX_RECORDS (5000),
MAX_BYTES (33554432).
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sentiment.evaluation.drift_core import CaptureError, Profile, parse_record

logger = logging.getLogger("drift_check")
# <prefix>yyyy/mm/dd/hh/<file>: the hour folder SageMaker writes a capture file under.
HOUR_FOLDER = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    capture_bucket: str
    capture_prefix: str
    profile_bucket: str
    profile_key: str
    namespace: str
    window_hours: int = 24
    max_records: int = 5000
    max_bytes: int = 32 * 1024 * 1024

    @classmethod
    def from_environ(cls, environ) -> Settings:
        return cls(environ["ENDPOINT_NAME"], environ["CAPTURE_BUCKET"], environ["CAPTURE_PREFIX"],
                   environ["PROFILE_BUCKET"], environ["PROFILE_KEY"], environ["METRIC_NAMESPACE"],
                   int(environ.get("WINDOW_HOURS", cls.window_hours)),
                   int(environ.get("MAX_RECORDS", cls.max_records)),
                   int(environ.get("MAX_BYTES", cls.max_bytes)))


def handler(event, context):
    """Lambda's entry point: the settings and the two clients."""
    import boto3

    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return run(event, Settings.from_environ(os.environ), boto3.client("s3"), boto3.client("cloudwatch"))


def run(event, settings: Settings, s3, cloudwatch) -> dict:
    end = window_end(event)
    start = end - timedelta(hours=settings.window_hours)
    profile = load_profile(s3, settings.profile_bucket, settings.profile_key)
    objects = list_window(s3, settings.capture_bucket, settings.capture_prefix, start, end)
    requests, read = read_window(s3, settings, objects, seed=end.isoformat())
    outcome = judge(requests, profile)
    put_metrics(cloudwatch, settings, outcome, end)
    report = {"endpoint": settings.endpoint_name, "window_start": start.isoformat(), "window_end": end.isoformat(),
              "files": len(objects), **read, **outcome,
              "profile": f"s3://{settings.profile_bucket}/{settings.profile_key}",
              "model": profile.about.get("model"), "weights_sha256": profile.about.get("weights_sha256")}
    logger.info(json.dumps(report))
    return report


def window_end(event) -> datetime:
    """The start of the hour the run was scheduled in (EventBridge's "time"), in UTC: the window
    is the complete hours before it."""
    when = event.get("time") if isinstance(event, dict) else None
    moment = (datetime.fromisoformat(when.replace("Z", "+00:00")) if isinstance(when, str)
              else datetime.now(timezone.utc))
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def load_profile(s3, bucket: str, key: str) -> Profile:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return Profile.loads(body, f"s3://{bucket}/{key}")


def list_window(s3, bucket: str, prefix: str, start: datetime, end: datetime) -> list[dict]:
    """The capture files in hour folders from start (included) to end (excluded), as
    ListObjectsV2 contents ({"Key", "Size", ...}), listed one day folder at a time."""
    days = sorted({(start + timedelta(hours=h)).strftime("%Y/%m/%d")
                   for h in range(int((end - start).total_seconds() // 3600))})
    found = []
    paginator = s3.get_paginator("list_objects_v2")
    for day in days:
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}{day}/"):
            for item in page.get("Contents", []):
                hour = HOUR_FOLDER.search(item["Key"])
                if hour and start <= datetime(*map(int, hour.groups()), tzinfo=timezone.utc) < end:
                    found.append(item)
    return sorted(found, key=lambda item: item["Key"])


def read_window(s3, settings: Settings, objects: list[dict], seed: str) -> tuple[list, dict]:
    """The reviews of the files, up to the caps, in an order shuffled by seed; and what was read."""
    order = list(objects)
    random.Random(seed).shuffle(order)
    requests, skipped, unreadable, budget, files_read = [], 0, 0, settings.max_bytes, 0
    capped = False
    for item in order:
        if len(requests) >= settings.max_records or budget <= 0:
            capped = True
            break
        size = int(item.get("Size", 0))
        ranged = size > budget
        answer = s3.get_object(Bucket=settings.capture_bucket, Key=item["Key"],
                               **({"Range": f"bytes=0-{budget - 1}"} if ranged else {}))
        data = answer["Body"].read()
        budget -= len(data)
        files_read += 1
        lines = data.decode("utf-8", errors="replace").split("\n")
        if ranged:
            lines = lines[:-1]   # the last line was cut by the range
            capped = True
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if len(requests) >= settings.max_records:
                capped = True
                break
            try:
                found = parse_record(line, f"{item['Key']}:{number}")
            except CaptureError as error:
                unreadable += 1
                if unreadable <= 5:
                    logger.warning(str(error))
                continue
            if found is None:
                skipped += 1
            else:
                requests.extend(found[: settings.max_records - len(requests)])
    return requests, {"files_read": files_read, "bytes_read": settings.max_bytes - budget,
                      "skipped_content_types": skipped, "unreadable_lines": unreadable, "capped": capped}


def judge(requests: list, profile: Profile) -> dict:
    """The figures of requests against the profile, as the run's report: a verdict of
    "too few records" below the smallest window, else "drift" or "no drift" and each figure."""
    needed = profile.window_sizes[0]
    if len(requests) < needed:
        return {"records": len(requests), "verdict": "too few records", "needed": needed, "figures": []}
    rows = profile.check(requests)
    figures = [{"figure": row.key, "metric": row.metric, "captured": row.captured, "reference": row.reference,
                "statistic": row.statistic, "threshold": row.threshold, "window": row.window, "drift": row.drift}
               for row in rows]
    drifted = any(row.drift for row in rows)
    return {"records": len(requests), "verdict": "drift" if drifted else "no drift", "figures": figures,
            "scored": sum(1 for r in requests if r.score is not None)}


# The published value of each figure: the captured rate or share for the two rates (what a person
# reads on a graph), the PSI itself for the two distributions.
PUBLISHED = {"unknown_token_rate": "captured", "length": "statistic", "not_english": "captured", "score": "statistic"}


def metric_data(settings: Settings, outcome: dict, timestamp: datetime) -> list[dict]:
    dimensions = [{"Name": "EndpointName", "Value": settings.endpoint_name}]

    def datum(name: str, value: float, unit: str = "None") -> dict:
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": float(value),
                "Unit": unit}

    data = [datum("Records", outcome["records"], "Count")]
    if outcome["verdict"] == "too few records":
        return data
    data += [datum(figure["metric"], figure[PUBLISHED[figure["figure"]]]) for figure in outcome["figures"]]
    data.append(datum("Drifted", 1 if outcome["verdict"] == "drift" else 0))
    return data


def put_metrics(cloudwatch, settings: Settings, outcome: dict, timestamp: datetime) -> None:
    cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=metric_data(settings, outcome, timestamp))
