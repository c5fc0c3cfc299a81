#!/usr/bin/env python3
"""The website as CloudFront serves it: the files in website/, a generated config.json naming
the API, and the same security headers (a Content-Security-Policy that allows only the site's
own scripts and the API's origin, HSTS, nosniff, no framing).

    sentiment site-server --port 8080 --api-url http://127.0.0.1:8081
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from pathlib import Path

from sentiment.contract import DEFAULT_MAX_REVIEW_CHARS, origin_of, security_headers, site_config
from sentiment.paths import WEBSITE

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json",
                 ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".txt": "text/plain"}


def log(message: str) -> None:
    print(f"[site] {message}", file=sys.stderr, flush=True)


class SiteApp:
    """Serves a fixed set of files read at start, so no request path can reach anything else."""

    def __init__(self, api_url: str, website_dir: Path = WEBSITE, max_review_chars: int = DEFAULT_MAX_REVIEW_CHARS):
        self.headers = security_headers(origin_of(api_url))
        self.files: dict[str, tuple[bytes, str]] = {}
        for path in sorted(Path(website_dir).rglob("*")):
            if path.is_file() and path.name != "config.json":
                content_type = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                self.files["/" + path.relative_to(website_dir).as_posix()] = (
                    path.read_bytes(), content_type or "application/octet-stream")
        self.files["/config.json"] = (json.dumps(site_config(api_url, max_review_chars)).encode(), "application/json")
        self.files["/"] = self.files["/index.html"]

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/")
        if method not in ("GET", "HEAD"):
            status, body, content_type = "405 Method Not Allowed", b"Method not allowed\n", "text/plain"
            extra = [("Allow", "GET, HEAD")]
        elif path in self.files:
            (body, content_type), status, extra = self.files[path], "200 OK", []
        else:
            status, body, content_type, extra = "404 Not Found", b"Not found\n", "text/plain", []
        cache = "no-cache" if content_type.startswith(("text/html", "application/json")) else "max-age=300"
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                ("Cache-Control", cache), *self.headers, *extra])
        return [body] if method != "HEAD" else []


def start_site_server(api_url: str, port: int = 0, website_dir: Path = WEBSITE,
                      max_review_chars: int = DEFAULT_MAX_REVIEW_CHARS):
    """Serve the site from a background thread of this process; returns a local_http.BackgroundServer."""
    from sentiment.local.servers import BackgroundServer

    return BackgroundServer(SiteApp(api_url, website_dir, max_review_chars), port=port, threads=4, name="site").start()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    parser.add_argument("--api-url", default="http://127.0.0.1:8081",
                        help="the API the page calls (default: http://127.0.0.1:8081)")
    parser.add_argument("--max-review-chars", type=int, default=DEFAULT_MAX_REVIEW_CHARS,
                        help="the limit the page shows, as config.json says it (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from sentiment.local.servers import serve_forever

    log(f"serving {WEBSITE} at http://{args.host}:{args.port}/ (API {args.api_url})")
    try:
        serve_forever(SiteApp(args.api_url, max_review_chars=args.max_review_chars), args.host, args.port, 4)
    except OSError as error:
        log(f"error: cannot listen on {args.host}:{args.port} ({error})")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
