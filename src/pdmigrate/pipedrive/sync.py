"""A blocking facade over :class:`PipedriveClient`, for code that is not async.

The async client (and its httpx connection pool, limiter and ledger) lives on one
private event loop for the facade's whole life, so limits and budget carry over
from call to call::

    with SyncPipedriveClient(url, token, plan="growth") as pd:
        me = pd.run(pd.client.users.me())
        people = pd.collect(pd.client.persons.list())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["SyncPipedriveClient"]

T = TypeVar("T")


class SyncPipedriveClient:
    """Runs a :class:`PipedriveClient` on a private event loop; same arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()

        async def build() -> PipedriveClient:
            return PipedriveClient(*args, **kwargs)

        try:
            self.client = self._runner.run(build())
        except BaseException:
            self._runner.close()
            raise

    def __repr__(self) -> str:
        return f"SyncPipedriveClient({self.client!r})"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one client call (or any coroutine using the client) to completion."""
        return self._runner.run(coro)

    def collect(self, items: AsyncIterator[T]) -> list[T]:
        """Drain one of the client's async iterators (a listing) into a list."""

        async def drain() -> list[T]:
            return [item async for item in items]

        return self._runner.run(drain())

    def close(self) -> None:
        """Close the client and its event loop."""
        try:
            self._runner.run(self.client.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncPipedriveClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
