"""Serve the sandbox over real HTTP on 127.0.0.1, in the foreground or in a thread.

`pdmigrate sandbox serve` runs :func:`serve_forever`; demos, benchmarks and tests
that need a real socket use :class:`ServerThread`::

    with ServerThread(create_app(config)) as server:
        httpx.get(f"{server.url}/api/v2/persons", headers={"x-api-token": "t"})

The sandbox never binds anything but the loopback address.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from pdmigrate.errors import FatalError, UsageError

HOST = "127.0.0.1"


def bind(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port=0`` picks a free port).

    Raises :class:`UsageError` when the port is taken or not allowed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {HOST} is already in use", hint="pick another with --port"
            ) from None
        raise UsageError(f"cannot listen on {HOST}:{port} ({exc.strerror})") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGINT/SIGTERM after its graceful shutdown.

    Ctrl-C and SIGTERM are how a sandbox is meant to stop, so `sandbox serve` returns
    normally (exit 0) instead of dying by the signal once the server has shut down.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def _server(app: Any, sock: socket.socket) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=HOST,
        port=sock.getsockname()[1],
        log_level="warning",
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=2,
    )
    return _Server(config)


def serve_forever(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket until interrupted (Ctrl-C / SIGTERM)."""
    _server(app, sock).run(sockets=[sock])


class ServerThread:
    """The sandbox (or any ASGI app) served on 127.0.0.1 from a background thread.

    Use as a context manager: entering starts the server and waits until it
    accepts connections; leaving shuts it down and joins the thread.
    """

    def __init__(self, app: Any, port: int = 0, *, start_timeout_s: float = 10.0) -> None:
        self._sock = bind(port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self._server = _server(app, self._sock)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._start_timeout_s = start_timeout_s

    def start(self) -> None:
        """Start serving and return once the server is up."""
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise FatalError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
