#!/usr/bin/env python3
"""A local API Gateway (REST API, Lambda proxy integration) for the one resource the site uses,
`/predict` (POST and OPTIONS). Each HTTP request becomes the proxy event API Gateway would send,
`handler` in `lambda/predict_proxy.py` answers it, and its proxy response becomes the HTTP response.

The handler module is loaded from lambda/ by its file, as the Lambda runtime loads it, and each
ApiApp is one function instance: its own environment (`lambda_environment()`, with credentials
that only the local model server accepts and AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME pointing at it)
and its own client, passed to the handler's `handle`, so nothing here changes os.environ.

    sentiment api-server --port 8081 --runtime-url http://127.0.0.1:8082 \\
        --allowed-origin http://127.0.0.1:8080
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import sys
import time
import uuid

from sentiment.contract import API_MAX_PAYLOAD_BYTES, API_RESOURCE, LOCAL_API_STAGE
from sentiment.paths import LAMBDA_CODE

LAMBDA_MODULE = "predict_proxy"  # the function's handler is predict_proxy.handler
LAMBDA_HANDLER_FILE = LAMBDA_CODE / f"{LAMBDA_MODULE}.py"

REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 415: "Unsupported Media Type",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


def log(message: str) -> None:
    print(f"[api] {message}", file=sys.stderr, flush=True)


def lambda_environment(runtime_url: str, allowed_origins: list[str], endpoint_name: str,
                       max_review_chars: int | None = None, read_timeout_s: float | None = None) -> dict[str, str]:
    """The Lambda function's environment for a local run."""
    env = {
        "ENDPOINT_NAME": endpoint_name,
        "ALLOWED_ORIGINS": ",".join(allowed_origins),
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url,
        # Placeholders: boto3 signs with them, the local model server ignores the signature.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",  # nosec B105 - not a secret
        "AWS_SESSION_TOKEN": "local",  # nosec B105 - not a secret
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
        "AWS_LAMBDA_FUNCTION_NAME": "predict-proxy-local",
        "LOG_LEVEL": "WARNING",
    }
    if max_review_chars is not None:
        env["MAX_REVIEW_CHARS"] = str(max_review_chars)
    if read_timeout_s is not None:
        env["SAGEMAKER_READ_TIMEOUT_S"] = str(read_timeout_s)
    return env


class LambdaContext:
    """The attributes of the Lambda context object a handler may read."""

    function_name = "predict-proxy-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    timeout_ms = 30_000

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def proxy_event(environ, body: bytes) -> dict:
    """The event API Gateway's REST proxy integration sends for this WSGI request."""
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = "-".join(part.capitalize() for part in key.split("_"))
        else:
            continue
        headers[name] = value
        multi[name] = [value]
    query: dict[str, list[str]] = {}
    for pair in filter(None, environ.get("QUERY_STRING", "").split("&")):
        key, _, value = pair.partition("=")
        query.setdefault(key, []).append(value)
    # Text arrives as a string; bytes that are not UTF-8 arrive base64-encoded, as they do when
    # the API lists binary media types.
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    method = environ["REQUEST_METHOD"]
    return {
        "resource": API_RESOURCE,
        "path": environ.get("PATH_INFO", ""),
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": API_RESOURCE, "httpMethod": method, "path": f"/{LOCAL_API_STAGE}{environ.get('PATH_INFO', '')}",
            "stage": LOCAL_API_STAGE, "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"), "apiId": "local",
            "domainName": environ.get("HTTP_HOST", ""),
            "identity": {"sourceIp": environ.get("REMOTE_ADDR", ""), "userAgent": environ.get("HTTP_USER_AGENT")},
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


def gateway_error(status: int, message: str) -> tuple[int, list, bytes]:
    """An error API Gateway itself answers, before or instead of the Lambda."""
    return status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()


def http_response(result) -> tuple[int, list, bytes]:
    """The proxy response turned into (status, headers, body); a malformed one is API Gateway's
    502, as on AWS."""
    try:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(str(name), str(v)) for v in values]
        body = result.get("body") or ""
        body = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    except (TypeError, KeyError, ValueError, AttributeError):
        return gateway_error(502, "Internal server error")
    return status, headers, body


class ApiApp:
    """The WSGI application: API Gateway in front of one instance of the Lambda function."""

    def __init__(self, environment: dict[str, str]):
        self.environment = dict(environment)
        self.function = load_lambda_module()
        self.client = self.function.build_client(self.environment)
        self.function.logger.setLevel(self.environment.get("LOG_LEVEL", "INFO").upper())

    def handler(self, event, context) -> dict:
        return self.function.handle(event, context, self.environment, self.client)

    def __call__(self, environ, start_response):
        status, headers, body = self.respond(environ)
        if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
            # API Gateway's own errors carry the first allowed origin (the stack's gateway
            # responses), so the page can read a 403, 413 or 502 too.
            first_origin = self.environment.get("ALLOWED_ORIGINS", "").split(",")[0].strip()
            if first_origin and status >= 400:
                headers = [*headers, ("Access-Control-Allow-Origin", first_origin), ("Vary", "Origin")]
        start_response(f"{status} {REASONS.get(status, 'Status')}",
                       [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def respond(self, environ) -> tuple[int, list, bytes]:
        if environ.get("PATH_INFO") != API_RESOURCE:
            return gateway_error(403, "Missing Authentication Token")
        if environ["REQUEST_METHOD"] not in ("POST", "OPTIONS"):
            return gateway_error(403, "Missing Authentication Token")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > API_MAX_PAYLOAD_BYTES:
            return gateway_error(413, "Request Too Long")
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            result = self.handler(proxy_event(environ, body), LambdaContext())
        except Exception as error:  # an unhandled Lambda error: API Gateway answers 502
            log(f"handler raised {type(error).__name__}")
            return gateway_error(502, "Internal server error")
        return http_response(result)


def load_lambda_module():
    """lambda/predict_proxy.py, loaded from its file the way the Lambda runtime loads a handler
    module (lambda/ is not on this process's path). Loaded once per process."""
    module = sys.modules.get(LAMBDA_MODULE)
    if module is not None and getattr(module, "__file__", None) == str(LAMBDA_HANDLER_FILE):
        return module
    spec = importlib.util.spec_from_file_location(LAMBDA_MODULE, LAMBDA_HANDLER_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[LAMBDA_MODULE] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def start_api_server(port: int = 0, threads: int = 32, **environment):
    """Serve the API from a background thread of this process. `environment` is passed to
    lambda_environment(); returns a local_http.BackgroundServer."""
    from sentiment.local.servers import BackgroundServer

    return BackgroundServer(ApiApp(lambda_environment(**environment)), port=port, threads=threads, name="api").start()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (default: 8081)")
    parser.add_argument("--runtime-url", default="http://127.0.0.1:8082",
                        help="the local SageMaker runtime (default: http://127.0.0.1:8082)")
    parser.add_argument("--endpoint-name", default="local-sentiment",
                        help="endpoint to invoke (default: local-sentiment)")
    parser.add_argument("--allowed-origin", action="append", dest="allowed_origins", default=[],
                        help="an origin allowed to call the API from a browser (repeatable; "
                             "default: http://127.0.0.1:8080 and http://localhost:8080)")
    parser.add_argument("--max-review-chars", type=int, help="MAX_REVIEW_CHARS for the handler (default: its own)")
    parser.add_argument("--read-timeout", type=float, help="seconds the handler waits for the model (default: its own)")
    parser.add_argument("--threads", type=int, default=32, help="requests handled at once (default: 32)")
    parser.add_argument("--verbose", action="store_true", help="log one line per request (length, status, latency)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from sentiment.local.servers import serve_forever

    origins = args.allowed_origins or ["http://127.0.0.1:8080", "http://localhost:8080"]
    environment = lambda_environment(args.runtime_url, origins, args.endpoint_name,
                                     args.max_review_chars, args.read_timeout)
    if args.verbose:
        environment["LOG_LEVEL"] = "INFO"
    import logging

    logging.basicConfig(level=logging.WARNING, format="[api] %(message)s")
    try:
        app = ApiApp(environment)
    except KeyboardInterrupt:
        return 130
    log(f"listening on http://{args.host}:{args.port}{API_RESOURCE} -> {args.runtime_url}")
    try:
        serve_forever(app, args.host, args.port, args.threads)
    except OSError as error:
        log(f"error: cannot listen on {args.host}:{args.port} ({error})")
        return 2
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
