"""HTTP plumbing shared by the local stack's servers: run a WSGI app with waitress either in a
background thread of this process (start/stop at will, for tests and fault injection) or as the
main loop of a process that stops cleanly on Ctrl-C or SIGTERM; start one of the local_* scripts
as a subprocess and wait until it answers."""
from __future__ import annotations

import contextlib
import json
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


# Connections one client address may hold open at once. Past it a new connection is answered 429
# and closed, so that one client hoarding connections cannot fill CONNECTION_LIMIT and lock every
# other client out. Browsers open at most 6 per host; the stack's own clients (the API's pool to
# the model server, `sentiment soak` and `bench-local` by default) at most 32.
MAX_CONNECTIONS_PER_CLIENT = 64
CONNECTION_LIMIT = 1000
# An idle keep-alive connection is closed after this long; waitress looks every CLEANUP_INTERVAL_S.
# Idle connections hold no worker thread (waitress reads them in its event loop), only a slot
# of CONNECTION_LIMIT.
IDLE_TIMEOUT_S = 30
CLEANUP_INTERVAL_S = 10
OVER_CAP_RETRY_AFTER_S = 5


def over_cap_response(limit: int) -> bytes:
    """The whole HTTP answer to a connection past a client's cap: 429 with a JSON error."""
    body = json.dumps({"error": f"Too many connections from your address at once (the limit is {limit}). "
                                "Close some and try again in a few seconds."}).encode()
    head = ("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: {OVER_CAP_RETRY_AFTER_S}\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


def refuse(connection: socket.socket, response: bytes) -> None:
    """Answer and close a connection without making it a channel. What the client already sent
    is read first, so that closing does not reset the connection under the answer."""
    try:
        connection.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            for _ in range(16):
                if not connection.recv(65536):
                    break
        connection.send(response)  # a few hundred bytes into an empty send buffer
        connection.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        connection.close()


class CappedChannels:
    """A waitress listener's channel factory that lets each client address hold at most `limit`
    connections: past it the connection is answered 429 and closed, not served."""

    def __init__(self, channel_class, limit: int):
        self.channel_class = channel_class
        self.limit = limit
        self.response = over_cap_response(limit)

    def __call__(self, server, connection, addr, adj, map=None):
        client = addr[0] if isinstance(addr, tuple) else addr
        held = sum(1 for channel in server.active_channels.values() if channel.addr[0] == client)
        if held >= self.limit:
            refuse(connection, self.response)
            return None
        return self.channel_class(server, connection, addr, adj, map=map)


def make_server(app, host: str, port: int, threads: int, max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT):
    # Keep-alive connections are what boto3 and browsers use; the thread count bounds how many
    # requests run at once (the rest queue in waitress, not in the kernel). poll(), not select():
    # select() fails on file descriptors past 1024, which stopped the server's loop for good.
    server = create_server(app, host=host, port=port, threads=threads, connection_limit=CONNECTION_LIMIT,
                           channel_timeout=IDLE_TIMEOUT_S, cleanup_interval=CLEANUP_INTERVAL_S,
                           asyncore_use_poll=True, backlog=1024, ident="local-stack")
    # One listener, or (for a host name with several addresses) a MultiSocketServer of them.
    listeners = [server] if hasattr(server, "active_channels") else \
        [listener for listener in server.map.values() if hasattr(listener, "active_channels")]
    for listener in listeners:
        # waitress makes each accepted connection with listener.channel_class(...).
        listener.channel_class = CappedChannels(listener.channel_class, max_connections_per_client)
    return server


class BackgroundServer:
    """A WSGI app served from a daemon thread of this process; stop() frees the port."""

    def __init__(self, app, host: str = LOCALHOST, port: int = 0, threads: int = 8, name: str = "server",
                 max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT):
        self.name = name
        self.app = app
        # binds now: a busy port fails here
        self._server = make_server(app, host, port, threads, max_connections_per_client)
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
            try:
                self._server.trigger.pull_trigger(self._close_all)
            except OSError:
                # The trigger's descriptor is already closed (seen once in a full test run, when
                # another socket of the process was closed twice): close from this thread
                # instead; the loop's next poll() then finds nothing left and returns.
                self._close_all()
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
