"""A local, Pipedrive-compatible company account for tests, demos and dry runs.

Public API::

    from pdmigrate.sandbox import SandboxConfig, create_app, Sandbox
    from pdmigrate.sandbox import SandboxTransport, AsyncSandboxTransport

    app = create_app(SandboxConfig(plan="growth"))
    client = httpx.Client(transport=SandboxTransport(app), base_url="http://sandbox",
                          headers={"x-api-token": "any-token"})
    app.state.sandbox.dump()   # every account's state as JSON-able dict
"""

from __future__ import annotations

from pdmigrate.sandbox.app import Sandbox, create_app
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport, SandboxTransport

__all__ = ["AsyncSandboxTransport", "Sandbox", "SandboxConfig", "SandboxTransport", "create_app"]
