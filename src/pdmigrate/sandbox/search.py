"""v2 search routes (filled in below)."""

from __future__ import annotations

from pdmigrate.sandbox.envelope import ApiRoute

ROUTES: list[ApiRoute] = []
