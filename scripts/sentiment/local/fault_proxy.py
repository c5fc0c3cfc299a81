#!/usr/bin/env python3
"""An HTTP proxy in front of the local model server that can misbehave on demand, to see what
the API and the site do when the endpoint fails. Modes:

    pass    forward every request unchanged (the default)
    delay   wait --delay seconds, then forward (an endpoint slower than the API's timeout)
    error   answer --status with the error SageMaker's runtime sends for it (500
            InternalFailure, 503 ServiceUnavailable, 429 ThrottlingException) or, for any other
            status, an HTML page as a load balancer would
    drop    read the request, then close the connection without answering

When the model server itself is down, a forwarded request is dropped the same way, so the API
sees a connection failure, as it would without the proxy. Tests switch modes with
`proxy.mode = ...`; the command line runs one mode until Ctrl-C:

    sentiment fault-proxy --upstream http://127.0.0.1:8082 --port 8083 --mode delay --delay 15
"""
from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

LOCALHOST = "127.0.0.1"
MODES = ("pass", "delay", "error", "drop")
RUNTIME_ERRORS = {500: "InternalFailure", 503: "ServiceUnavailable", 429: "ThrottlingException"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}


class FaultProxy:
    """A ThreadingHTTPServer on a background thread; `mode`, `delay_s` and `status` may be
    changed at any time and apply to the next request."""

    def __init__(self, upstream: str, port: int = 0, mode: str = "pass", delay_s: float = 5.0, status: int = 500):
        self.upstream = urlsplit(upstream)
        self.mode, self.delay_s, self.status = mode, delay_s, status
        self.counts: dict[str, int] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOCALHOST, port), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:  # keep-alive connections would otherwise outlive the server
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as between boto3 and SageMaker

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                super().finish()

            def log_message(self, format, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                mode = proxy.mode
                proxy._count(mode)
                if mode == "drop":
                    self.close_connection = True
                    return
                if mode == "error":
                    self._answer_error(proxy.status)
                    return
                if mode == "delay":
                    time.sleep(proxy.delay_s)
                self._forward(body)

            def _answer_error(self, status: int) -> None:
                code = RUNTIME_ERRORS.get(status)
                if code:
                    data = json.dumps({"message": f"{code} injected by the fault proxy"}).encode()
                    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{code}:")]
                else:
                    data = f"<html><body><h1>{status}</h1></body></html>".encode()
                    headers = [("Content-Type", "text/html")]
                self._send(status, headers, data)

            def _forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers={
                        k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}})
                    answer = upstream.getresponse()
                    data = answer.read()
                except OSError:  # the model server is down: fail the way a refused connection does
                    proxy._count("upstream_down")
                    self.close_connection = True
                    return
                finally:
                    upstream.close()
                self._send(answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP], data)

            def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="http://127.0.0.1:8082",
                        help="the model server to forward to (default: http://127.0.0.1:8082)")
    parser.add_argument("--port", type=int, default=8083, help="port to listen on (default: 8083)")
    parser.add_argument("--mode", choices=MODES, default="pass", help="how to misbehave (default: pass)")
    parser.add_argument("--delay", type=float, default=15.0, help="seconds to wait in delay mode (default: 15)")
    parser.add_argument("--status", type=int, default=500, help="status to answer in error mode (default: 500)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        proxy = FaultProxy(args.upstream, args.port, args.mode, args.delay, args.status).start()
    except OSError as error:
        print(f"error: cannot listen on port {args.port} ({error})", file=sys.stderr)
        return 2
    print(f"fault proxy {proxy.url} -> {args.upstream}, mode {args.mode}; Ctrl-C to stop", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    stop.wait()
    proxy.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
