"""httpx transports that call the sandbox app in process (no socket, no thread).

``httpx.Client(transport=SandboxTransport(app), base_url="http://sandbox")`` and the
async twin behave like a network client against a real server, with one addition: a
response the fault injector marked "committed but lost" raises ``httpx.ReadTimeout``
(the write IS committed), the way a client sees a response that never arrives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from starlette.applications import Starlette

from pdmigrate.sandbox.app import LOST_EXTENSION, Sandbox


async def _call_app(app: Starlette, request: httpx.Request, body: bytes) -> httpx.Response:
    marker: dict[str, Any] = {"lost": False}
    raw_path = request.url.raw_path
    path, _, query = raw_path.partition(b"?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": ("127.0.0.1", 50000),
        "server": (request.url.host, request.url.port or 80),
        "extensions": {LOST_EXTENSION: marker},
    }
    sent_body = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # pragma: no cover - the app never waits for a disconnect
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    if marker["lost"]:
        raise httpx.ReadTimeout("the sandbox lost the response (the write was committed)")
    return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)


def _sandbox_app(app: Starlette | Sandbox | None) -> Starlette:
    if isinstance(app, Starlette):
        return app
    from pdmigrate.sandbox.app import app_for, create_app

    return create_app() if app is None else app_for(app)


class SandboxTransport(httpx.BaseTransport):
    """A synchronous httpx transport over the sandbox app (runs it on a private loop)."""

    def __init__(self, app: Starlette | Sandbox | None = None) -> None:
        self.app = _sandbox_app(app)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox behind the app."""
        sandbox: Sandbox = self.app.state.sandbox
        return sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its response."""
        body = request.read()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            # Called from async code in this thread: a nested loop is not allowed, so the
            # app runs on a short-lived loop in a helper thread.
            with ThreadPoolExecutor(max_workers=1) as pool:
                return pool.submit(asyncio.run, _call_app(self.app, request, body)).result()
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(_call_app(self.app, request, body))

    def close(self) -> None:
        """Close the private event loop."""
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            self._loop = None


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """An asynchronous httpx transport over the sandbox app."""

    def __init__(self, app: Starlette | Sandbox | None = None) -> None:
        self.app = _sandbox_app(app)

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox behind the app."""
        sandbox: Sandbox = self.app.state.sandbox
        return sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its response."""
        body = await request.aread()
        return await _call_app(self.app, request, body)
