#!/usr/bin/env python3
"""A local SageMaker endpoint for one model: the inference handlers the SageMaker PyTorch
container would call, imported from the model's own model.tar.gz (a model folder is archived
first, as for an upload), behind the two HTTP contracts SageMaker has.

    GET  /ping                              container contract: 200 once the model is loaded
    POST /invocations                       container contract: the handlers' own statuses
    POST /endpoints/<name>/invocations      runtime API (what boto3's InvokeEndpoint calls):
                                            a handler error becomes 424 ModelError, as on AWS

Point boto3 at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:<port>.

Concurrent requests are answered in batches: while the model scores one batch, newly arrived
reviews queue, and the next predict_fn call scores them all at once. On a small CPU that is
several times the throughput of one call per request, and it adds no waiting when idle.

    sentiment model-server --model models/default --port 8082
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import queue
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from sentiment.contract import INVOKE_ENDPOINT_MAX_PAYLOAD_BYTES, VARIANT_NAME
from sentiment.models import ModelPathError, import_shipped_handlers, unpack_served_model
from sentiment.paths import DEFAULT_MODEL
from sentiment_model.toolkit_adapter import ERROR_CONTENT_TYPE, error_answer, request_error_status

DEFAULT_ENDPOINT_NAME = "local-sentiment"
MAX_BATCH_REVIEWS = 64
EXPLAINED_REVIEW_COST = 8
ACCOUNT = "000000000000"


def log(message: str) -> None:
    print(f"[model server] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Loading: a model directory or model.tar.gz, and the inference handlers
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class LoadedModel:
    handlers: object  # the archive's code/inference.py: model_fn, input_fn, predict_fn, output_fn
    model: object
    model_dir: Path
    load_seconds: float
    _unpacked: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self._unpacked is not None:
            self._unpacked.cleanup()


def load_model(model_path: Path, threads: int | None = None, progress=log) -> LoadedModel:
    """threads: torch intra-op threads for this process (None leaves torch's setting alone)."""
    started = time.perf_counter()
    progress(f"loading {model_path}")
    model_dir, unpacked = unpack_served_model(Path(model_path))
    progress(f"model.tar.gz unpacked into {model_dir} ({time.perf_counter() - started:.1f} s)")
    progress("importing torch and the archive's inference handlers")
    import torch

    # The command line uses one intra-op thread: requests are already concurrent, and on a small
    # CPU more threads per matrix product only contend with the API's threads.
    if threads:
        torch.set_num_threads(threads)
    handlers = import_shipped_handlers(model_dir / "code")
    progress(f"reading weights ({time.perf_counter() - started:.1f} s)")
    model = handlers.model_fn(str(model_dir))
    # The first forward pass allocates, and the first explanation's backward pass too (about
    # 50 ms); pay for them here rather than on the first visitor.
    handlers.output_fn(handlers.predict_fn(handlers.input_fn("warm up", "text/plain"), model), "application/json")
    handlers.output_fn(handlers.predict_fn(handlers.input_fn('{"review": "warm up", "explain": true}',
                                                             "application/json"), model), "application/json")
    seconds = time.perf_counter() - started
    progress(f"model ready in {seconds:.1f} s")
    return LoadedModel(handlers, model, model_dir, seconds, unpacked)


# ---------------------------------------------------------------------------------------------
# Batching predict_fn across concurrent requests
# ---------------------------------------------------------------------------------------------

class Batcher:
    """Runs predict_fn on worker threads; requests that arrive while a worker is busy are merged
    into its next call, plain requests with plain ones and explained ones with explained ones.
    Merging needs input_fn's result to be a dataclass with a `texts` list (and an `explain`
    flag) and predict_fn's to be a dict whose PER_TEXT lists follow the texts' order, as
    sentiment_model.serving has them; anything else is predicted one request at a time."""

    PER_TEXT = ("scores", "explanations")

    def __init__(self, handlers, model, workers: int = 1, max_batch: int = MAX_BATCH_REVIEWS):
        self.handlers = handlers
        self.model = model
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # torch releases the interpreter lock inside its kernels, so a second worker can score
        # one batch while the first scores another.
        self.workers = workers
        self.calls = 0  # predict_fn calls so far; fewer than requests means batching happened
        for number in range(workers):
            threading.Thread(target=self._run, name=f"predict-{number}", daemon=True).start()

    def close(self) -> None:
        for _ in range(self.workers):
            self._queue.put(None)

    def predict(self, data):
        future: Future = Future()
        self._queue.put((data, future))
        return future.result()

    @staticmethod
    def _mergeable(data) -> bool:
        return dataclasses.is_dataclass(data) and isinstance(getattr(data, "texts", None), list)

    @staticmethod
    def _size(data) -> int:
        """A request's share of a batch: its reviews, an explained one counting as
        EXPLAINED_REVIEW_COST (its gradient pass costs about that many plain reviews), so that
        one batch holds at most a few explained reviews and the requests queued behind it wait
        tens of milliseconds, not seconds."""
        reviews = len(getattr(data, "texts", ())) or 1
        return reviews * (EXPLAINED_REVIEW_COST if getattr(data, "explain", False) else 1)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = self._size(first[0])
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # closing: finish this batch, then let another worker stop
                    self._queue.put(None)
                    break
                batch.append(item)
                size += self._size(item[0])
            self._predict(batch)

    def _predict(self, batch) -> None:
        alone = [item for item in batch if not self._mergeable(item[0])]
        for data, future in alone:
            self._predict_one(data, future)
        for explained in (False, True):
            group = [item for item in batch if self._mergeable(item[0]) and bool(getattr(item[0], "explain", False)) == explained]
            if len(group) == 1:
                self._predict_one(*group[0])
            elif group:
                self._predict_merged(group)

    def _predict_merged(self, mergeable) -> None:
        texts = [text for data, _ in mergeable for text in data.texts]
        merged = dataclasses.replace(mergeable[0][0], texts=texts)
        self.calls += 1
        try:
            prediction = self.handlers.predict_fn(merged, self.model)
            if any(len(prediction.get(key, texts)) != len(texts) for key in self.PER_TEXT):
                raise TypeError("predict_fn returned a different number of answers than texts")
        except Exception:  # one call each instead, so a bad request fails alone
            for data, future in mergeable:
                self._predict_one(data, future)
            return
        start = 0
        for data, future in mergeable:
            end = start + len(data.texts)
            own = {key: prediction[key][start:end] for key in self.PER_TEXT if key in prediction}
            future.set_result({**prediction, **own, **({"shape": data.shape} if hasattr(data, "shape") else {})})
            start = end

    def _predict_one(self, data, future: Future) -> None:
        self.calls += 1
        try:
            future.set_result(self.handlers.predict_fn(data, self.model))
        except BaseException as error:  # handed to the request's thread, which answers it
            future.set_exception(error)


# ---------------------------------------------------------------------------------------------
# The two HTTP contracts
# ---------------------------------------------------------------------------------------------

def invoke_container(loaded: LoadedModel, batcher: Batcher, body: bytes, content_type: str,
                     accept: str) -> tuple[int, bytes, str]:
    """The container contract: (status, body, content type) for one /invocations request."""
    handlers = loaded.handlers
    try:
        data = handlers.input_fn(body, content_type)
        prediction = batcher.predict(data)
        answer, answer_type = handlers.output_fn(prediction, accept)
    except Exception as error:
        status = request_error_status(error)
        if status is not None:  # the handlers' InferenceError: the request's own fault
            return status, error_answer(status, str(error)), ERROR_CONTENT_TYPE  # the toolkit answers 500 and logs; so do we, without the body
        log(f"inference failed: {type(error).__name__}: {error}")  # as the toolkit: 500, logged
        return 500, error_answer(500, str(error)), ERROR_CONTENT_TYPE
    if isinstance(answer, str):
        answer = answer.encode("utf-8")
    return 200, bytes(answer), answer_type


def runtime_error(status: int, code: str, message: str, **fields) -> tuple[int, bytes, list]:
    """An error as InvokeEndpoint sends it (rest-json): botocore reads the code from the header."""
    body = json.dumps({"message": message, **fields}).encode()
    return status, body, [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{code}:")]


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           406: "Not Acceptable", 413: "Payload Too Large", 415: "Unsupported Media Type",
           424: "Failed Dependency", 500: "Internal Server Error", 503: "Service Unavailable"}


class RuntimeApp:
    """The WSGI application for both contracts."""

    def __init__(self, loaded: LoadedModel, endpoint_name: str = DEFAULT_ENDPOINT_NAME, predict_workers: int = 1):
        self.loaded = loaded
        self.endpoint_name = endpoint_name
        self.batcher = Batcher(loaded.handlers, loaded.model, predict_workers)

    def close(self) -> None:
        self.batcher.close()

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if path == "/ping" and method in ("GET", "HEAD"):
            status, body, headers = 200, b"", [("Content-Type", "text/plain")]
        elif path == "/invocations":
            status, body, headers = self._container(environ, method)
        elif path.startswith("/endpoints/") and path.endswith("/invocations"):
            status, body, headers = self._runtime(environ, method, path[len("/endpoints/"):-len("/invocations")])
        else:
            status, body, headers = 404, b'{"error": "not found"}', [("Content-Type", "application/json")]
        start_response(f"{status} {REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(len(body)))])
        return [body] if method != "HEAD" else []

    @staticmethod
    def _read_body(environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return environ["wsgi.input"].read(length) if length else b""

    def _container(self, environ, method):
        if method != "POST":
            return 405, b'{"error": "use POST"}', [("Content-Type", "application/json"), ("Allow", "POST")]
        status, body, content_type = invoke_container(
            self.loaded, self.batcher, self._read_body(environ),
            environ.get("CONTENT_TYPE", ""), environ.get("HTTP_ACCEPT", "application/json"))
        return status, body, [("Content-Type", content_type)]

    def _runtime(self, environ, method, endpoint_name):
        if method != "POST":
            return runtime_error(405, "UnknownOperationException", "Use POST to invoke an endpoint.")
        if endpoint_name != self.endpoint_name:
            return runtime_error(400, "ValidationError",
                                 f"Endpoint {endpoint_name} of account {ACCOUNT} not found.")
        if int(environ.get("CONTENT_LENGTH") or 0) > INVOKE_ENDPOINT_MAX_PAYLOAD_BYTES:
            return runtime_error(413, "ValidationError", "Request payload is larger than the 6 MB limit.")
        status, body, content_type = invoke_container(
            self.loaded, self.batcher, self._read_body(environ),
            environ.get("CONTENT_TYPE", ""), environ.get("HTTP_ACCEPT", "application/json"))
        if status != 200:
            original = body.decode("utf-8", "replace")
            return runtime_error(
                424, "ModelError",
                f"Received client error ({status}) from primary with message \"{original}\". "
                f"See the model server's log for details.",
                OriginalStatusCode=status, OriginalMessage=original,
                LogStreamArn=f"arn:aws:logs:local:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}")
        return 200, body, [("Content-Type", content_type), ("x-Amzn-Invoked-Production-Variant", VARIANT_NAME)]


# ---------------------------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------------------------

def start_runtime_server(model_path: Path | None = None, port: int = 0, endpoint_name: str = DEFAULT_ENDPOINT_NAME,
                         threads: int = 32, predict_workers: int = 1, loaded: LoadedModel | None = None,
                         progress=log):
    """Serve a model from a background thread of this process: model_path is loaded, or a
    LoadedModel from load_model() is reused (a restart in milliseconds, for fault injection).
    Returns the local_http.BackgroundServer (stop() frees the port; .url is what boto3 needs)."""
    from sentiment.local.servers import BackgroundServer

    if loaded is None:
        loaded = load_model(model_path, progress=progress)
    return BackgroundServer(RuntimeApp(loaded, endpoint_name, predict_workers), port=port, threads=threads,
                            name="model server").start()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8082, help="port to listen on (default: 8082)")
    parser.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME,
                        help=f"the endpoint name the runtime API answers to (default: {DEFAULT_ENDPOINT_NAME})")
    parser.add_argument("--threads", type=int, default=32,
                        help="HTTP worker threads, i.e. requests handled at once (default: 32)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads for each forward pass (default: 1)")
    # One per core, as TorchServe starts one worker per vCPU in SageMaker's image: an explained
    # review keeps a core busy for tens of milliseconds, and with one worker the second core
    # idled (8 clients, site mix: 18.4 explained requests/s with one worker, 37.7 with two).
    parser.add_argument("--predict-workers", type=int,
                        default=int(os.environ.get("LOCAL_PREDICT_WORKERS") or os.cpu_count() or 1),
                        help="batches scored at once, each on its own thread (default: $LOCAL_PREDICT_WORKERS, "
                             "else one per core)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from sentiment.local.servers import serve_forever

    try:
        loaded = load_model(Path(args.model), threads=args.torch_threads)
    except (ModelPathError, ValueError, OSError) as error:
        log(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # e.g. weights that do not fit model_code/'s network
        log(f"error: cannot load {args.model}: {type(error).__name__}: {error}")
        return 2
    log(f"listening on http://{args.host}:{args.port} (endpoint {args.endpoint_name})")
    try:
        serve_forever(RuntimeApp(loaded, args.endpoint_name, args.predict_workers), args.host, args.port, args.threads)
    except OSError as error:
        log(f"error: cannot listen on {args.host}:{args.port} ({error})")
        return 2
    finally:
        loaded.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
