"""HTTP plumbing shared by the local stack's servers: run a WSGI app with waitress either in a
background thread of this process (start/stop at will, for tests and fault injection) or as the
main loop of a process that stops cleanly on Ctrl-C or SIGTERM; start one of the local_* scripts
as a subprocess and wait until it answers."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from waitress.server import create_server

LOCALHOST = "127.0.0.1"
# Set for processes started by spawn(): they stop by themselves if their parent disappears.
PARENT_PID_VARIABLE = "LOCAL_STACK_PARENT_PID"


def free_port(host: str = LOCALHOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def make_server(app, host: str, port: int, threads: int):
    # Keep-alive connections are what boto3 and browsers use; the thread count bounds how many
    # requests run at once (the rest queue in waitress, not in the kernel).
    return create_server(app, host=host, port=port, threads=threads, connection_limit=1000,
                         channel_timeout=120, backlog=1024, ident="local-stack")


class BackgroundServer:
    """A WSGI app served from a daemon thread of this process; stop() frees the port."""

    def __init__(self, app, host: str = LOCALHOST, port: int = 0, threads: int = 8, name: str = "server"):
        self.name = name
        self.app = app
        self._server = make_server(app, host, port, threads)  # binds now: a busy port fails here
        self.host = host
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def _close_all(self) -> None:
        # Runs on the server's own thread (through its trigger), so no socket is closed under a
        # poll() in progress; once nothing is left in its map, run() returns.
        for channel in list(self._server._map.values()):
            if channel is not self._server and channel is not self._server.trigger:
                channel.close()
        self._server.close()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._server.trigger.pull_trigger(self._close_all)
            self._thread.join(timeout)
        else:
            self._server.close()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        if hasattr(self.app, "close"):
            self.app.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_forever(app, host: str, port: int, threads: int) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly and return (no traceback)."""
    server = BackgroundServer(app, host, port, threads)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    parent = int(os.environ.get(PARENT_PID_VARIABLE) or 0)
    server.start()
    while not stop.wait(0.5):
        if parent and os.getppid() != parent:  # the parent died without stopping us
            break
    server.stop()


# ---------------------------------------------------------------------------------------------
# Subprocesses
# ---------------------------------------------------------------------------------------------

def spawn(command: str, args: list[str], env: dict[str, str] | None = None, quiet: bool = False) -> subprocess.Popen:
    """Start `sentiment <command>` with this interpreter in its own process group, so a Ctrl-C in the
    terminal reaches only the parent, which then stops its children in order. A server started
    this way also stops if the parent is killed outright."""
    return subprocess.Popen(
        [sys.executable, "-m", "sentiment", command, *args],
        env={**os.environ, **(env or {}), PARENT_PID_VARIABLE: str(os.getpid())},
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen, timeout: float = 5.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None,
                  expect_status: int | None = 200, name: str | None = None,
                  body: bytes | None = None, headers: dict[str, str] | None = None) -> float:
    """Poll url until it answers (with expect_status, or any status if None); returns the seconds
    waited. GET, or POST of body when one is given. Raises RuntimeError if process exits first or
    the time runs out."""
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers=headers or {})
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name or url} stopped (exit status {process.returncode}) before it was ready; "
                               "its own message above says why")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310 - http URLs of our own servers
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            status = None
        if status is not None and (expect_status is None or status == expect_status):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{name or url} did not become ready within {timeout:.0f} s")
        time.sleep(0.05)
