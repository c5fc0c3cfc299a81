"""Helpers the tests share: synthetic reviews in each file layout users have, and the browser's
launch settings. (Fixtures live in conftest.py.)"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import socket
import threading
from pathlib import Path

from sentiment.paths import SHARED_IMDB

SHARED_DATA = SHARED_IMDB.parent
# Debian's chromium package, driven by Playwright (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

POSITIVE = ["wonderful", "brilliant", "superb", "loved", "moving", "delightful", "masterpiece", "great"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "waste", "worst", "mess"]
FILLER = ["the", "film", "movie", "plot", "actors", "scene", "story", "director", "was", "and", "it", "a"]


def synthetic_reviews(count: int, seed: int = 0) -> list[dict]:
    """Reviews whose sentiment words decide the label, with HTML breaks like IMDb's."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = index % 2
        cue = POSITIVE if label else NEGATIVE
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 40))]
        for _ in range(3):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
        text = " ".join(words[:10]) + ".<br /><br />" + " ".join(words[10:])
        rows.append({"text": text, "label": label, "id": f"{index}_{8 if label else 2}"})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def write_aclimdb(root: Path, split: str, rows: list[dict]) -> Path:
    for row in rows:
        folder = root / "aclImdb" / split / ("pos" if row["label"] else "neg")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    return root / "aclImdb"


# ---------------------------------------------------------------------------------------------
# The CDK app, synthesized in-process. Every synthesis gets the context the CDK CLI would give
# app.py (cdk.json's settings and context, stacks.review.snapshot.app_context) and runs
# cdk-nag, so an unacknowledged finding fails the test that asked for it.
# ---------------------------------------------------------------------------------------------

def make_dataset(folder: Path, content: bytes = b"\x93NUMPY fixture") -> Path:
    """Just enough of scripts/sentiment/data/prepare.py's output for synthesis: a manifest and a file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"format_version": 1, "files": ["train.ids.npy"]}))
    (folder / "train.ids.npy").write_bytes(content)
    return folder


def make_model_dir(folder: Path, validation_accuracy: float | None = 0.92) -> Path:
    """A model folder as models/default is: weights, config and figures (code/ is added at
    packaging); validation_accuracy None leaves metrics.json out."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_bytes(b"weights")
    (folder / "model_config.json").write_text("{}")
    (folder / "preprocessing.json").write_text("{}")
    if validation_accuracy is not None:
        (folder / "metrics.json").write_text(json.dumps({"validation_accuracy": validation_accuracy}))
    return folder


class Synthesized:
    """The app's templates for one configuration, as plain JSON and as assertion Templates."""

    def __init__(self, outdir: Path, deployment):
        from aws_cdk.assertions import Template
        self.outdir = outdir
        self.state_stack_name, self.model_stack_name, self.web_stack_name = (
            stack.stack_name for stack in deployment.stacks)
        self.state_json, self.model_json, self.web_json = (
            json.loads((outdir / f"{stack.artifact_id}.template.json").read_text()) for stack in deployment.stacks)
        self.state = Template.from_json(self.state_json)
        self.model = Template.from_json(self.model_json)
        self.web = Template.from_json(self.web_json)

    @property
    def stack_names(self) -> tuple[str, str, str]:
        return self.state_stack_name, self.model_stack_name, self.web_stack_name

    @property
    def templates(self) -> tuple[dict, dict, dict]:
        return self.state_json, self.model_json, self.web_json


def synthesize(outdir: Path, overrides: dict) -> Synthesized:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    from stacks.application import build
    from stacks.config import DeploymentConfig
    from stacks.review.snapshot import app_context

    context = app_context(overrides)
    app = App(context=context, outdir=str(outdir))
    deployment = build(app, DeploymentConfig.from_context(app.node.try_get_context))
    app.synth()
    return Synthesized(outdir, deployment)


def assert_auto_delete_logs_expire_and_go(template, retention_days: int = 30) -> None:
    """CDK's bucket-emptying function logs to a group of ours: it expires and goes with the stack."""
    (handler,) = [r for key, r in template.find_resources("AWS::Lambda::Function").items()
                  if key.startswith("CustomS3AutoDeleteObjectsCustomResourceProviderHandler")]
    group_id = handler["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = template.to_json()["Resources"][group_id]

    assert group["Properties"]["RetentionInDays"] == retention_days
    assert group["DeletionPolicy"] == "Delete"


class SilentEndpoint:
    """A server that accepts every connection, reads the requests (counting InvokeEndpoint calls)
    and never answers: the worst case of a SageMaker endpoint for the proxy's timeouts."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests = 0
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.listener.accept()
                self.connections.append(connection)
                threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection):
        with contextlib.suppress(OSError):
            while chunk := connection.recv(65536):
                self.requests += chunk.count(b"POST /endpoints/")

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()
