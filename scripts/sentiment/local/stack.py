#!/usr/bin/env python3
"""The whole system on this machine, no AWS account needed:

    website   http://127.0.0.1:8080/          website/ plus a generated config.json, with the
                                              CloudFront security headers (scripts/sentiment/local/site.py)
    API       http://127.0.0.1:8081/predict   API Gateway's proxy event -> lambda/predict_proxy.py
                                              (scripts/sentiment/local/api.py)
    model     http://127.0.0.1:8082           SageMaker's container contract and runtime API
                                              around model_code/inference.py (scripts/sentiment/local/model_server.py)

The Lambda handler reaches the model server through boto3's standard
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME setting, exactly the code that runs on AWS. The model server
and the API each run in their own process (the model's work and the API's do not share one
interpreter lock); the site is served from this one. Ctrl-C stops all three.

    sentiment local                         # models/default/
    sentiment local --model build/model.tar.gz --port 9000
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from sentiment.contract import API_RESOURCE, DEFAULT_MAX_REVIEW_CHARS
from sentiment.local.model_server import DEFAULT_ENDPOINT_NAME
from sentiment.local.servers import LOCALHOST, PARENT_PID_VARIABLE, port_is_free, spawn, stop_process, wait_for_http
from sentiment.local.site import start_site_server

STARTUP_TIMEOUT_S = 120
READY_REVIEW = b"A quick review to check that the whole path answers."


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default",
                        help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--port", type=int, default=8080, help="the website's port (default: 8080)")
    parser.add_argument("--api-port", type=int, help="the API's port (default: --port + 1)")
    parser.add_argument("--model-port", type=int, help="the model server's port (default: --port + 2)")
    parser.add_argument("--max-review-chars", type=int, default=DEFAULT_MAX_REVIEW_CHARS,
                        help="longest review the API accepts and the page allows (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="the API logs one line per request")
    args = parser.parse_args(argv)
    args.api_port = args.api_port or args.port + 1
    args.model_port = args.model_port or args.port + 2
    if len({args.port, args.api_port, args.model_port}) != 3:
        parser.error("the website, API and model server need three different ports")
    if args.max_review_chars < 1:
        parser.error("--max-review-chars must be positive")
    return args


class Stack:
    """The three servers; start() returns once a prediction has been answered through the API."""

    def __init__(self, model: Path, port: int, api_port: int, model_port: int,
                 max_review_chars: int = DEFAULT_MAX_REVIEW_CHARS, verbose: bool = False, quiet: bool = False):
        self.model, self.max_review_chars, self.verbose, self.quiet = model, max_review_chars, verbose, quiet
        self.site_url = f"http://{LOCALHOST}:{port}"
        self.api_url = f"http://{LOCALHOST}:{api_port}"
        self.model_url = f"http://{LOCALHOST}:{model_port}"
        self.ports = {"website": port, "API": api_port, "model server": model_port}
        self.runtime_process = self.api_process = self.site = None

    def start(self) -> Stack:
        busy = [f"{name} port {port}" for name, port in self.ports.items() if not port_is_free(port)]
        if busy:
            raise RuntimeError(f"already in use: {', '.join(busy)} (choose others with --port, "
                               "--api-port, --model-port)")
        site_origins = [self.site_url, self.site_url.replace(LOCALHOST, "localhost")]
        self.runtime_process = spawn("model-server", [
            "--model", str(self.model), "--port", str(self.ports["model server"]),
            "--endpoint-name", DEFAULT_ENDPOINT_NAME], quiet=self.quiet)
        api_args = ["--port", str(self.ports["API"]), "--runtime-url", self.model_url,
                    "--endpoint-name", DEFAULT_ENDPOINT_NAME, "--max-review-chars", str(self.max_review_chars)]
        for origin in site_origins:
            api_args += ["--allowed-origin", origin]
        self.api_process = spawn("api-server", api_args + (["--verbose"] if self.verbose else []), quiet=self.quiet)
        self.site = start_site_server(self.api_url, self.ports["website"], max_review_chars=self.max_review_chars)
        wait_for_http(f"{self.api_url}/predict", STARTUP_TIMEOUT_S, self.api_process, expect_status=None,
                      name="the API")
        wait_for_http(f"{self.model_url}/ping", STARTUP_TIMEOUT_S, self.runtime_process, name="the model server")
        # Ready means a visitor's review gets an answer: one prediction through the API, the
        # Lambda handler, boto3 and the model server, not only each server answering on its own.
        wait_for_http(f"{self.api_url}{API_RESOURCE}", STARTUP_TIMEOUT_S, self.api_process,
                      name="a prediction through the API", body=READY_REVIEW, headers={"Content-Type": "text/plain"})
        return self

    def exited(self) -> str | None:
        for name, process in (("model server", self.runtime_process), ("API", self.api_process)):
            if process is not None and process.poll() is not None:
                return f"the {name} exited with status {process.returncode}"
        return None

    def stop(self) -> None:
        for process in (self.api_process, self.runtime_process):
            if process is not None:
                stop_process(process)
        if self.site is not None:
            self.site.stop()
            self.site = None

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    model = Path(args.model)
    if not model.exists():
        print(f"error: {model}: no such model directory or model.tar.gz (pass --model, or build "
              "models/default with `make train-default`)", file=sys.stderr)
        return 2
    # SIGTERM (from a process manager or `kill`) stops the stack the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt))
    started = time.perf_counter()
    print(f"starting the local stack with {model} ...", flush=True)
    stack = Stack(model, args.port, args.api_port, args.model_port, args.max_review_chars, args.verbose)
    try:
        stack.start()
        print(
            f"\nready in {time.perf_counter() - started:.1f} s\n"
            f"  website       {stack.site_url}/\n"
            f"  API           POST {stack.api_url}/predict\n"
            f"  model server  {stack.model_url}/ping, {stack.model_url}/invocations, "
            f"{stack.model_url}/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations\n"
            f"press Ctrl-C to stop\n", flush=True)
        parent = int(os.environ.get(PARENT_PID_VARIABLE) or 0)
        while (problem := stack.exited()) is None:
            if parent and os.getppid() != parent:  # started by a script that has died
                return 1
            time.sleep(0.5)
        print(f"error: {problem}; stopping", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
