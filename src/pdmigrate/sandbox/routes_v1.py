"""The sandbox's v1 endpoints, plus the v2 deal products: ``ROUTES`` for ``app.py``.

One module per resource:

- :mod:`~pdmigrate.sandbox.routes_v1_notes`: ``/api/v1/notes`` (backdated ``add_time``);
- :mod:`~pdmigrate.sandbox.routes_v1_files`: ``/api/v1/files`` (multipart, size limit,
  download);
- :mod:`~pdmigrate.sandbox.routes_v1_leads`: ``/api/v1/leads`` (UUID ids, 201 on create);
- :mod:`~pdmigrate.sandbox.routes_v1_users`: ``/api/v1/users`` and ``/api/v1/activityTypes``;
- :mod:`~pdmigrate.sandbox.routes_v1_orgrel`: ``/api/v1/organizationRelationships``;
- :mod:`~pdmigrate.sandbox.routes_v1_deal_products`: ``/api/v2/deals/{id}/products`` and
  ``/api/v2/deals/products``.

v1 envelopes: ``{"success": true, "data", "additional_data"}``; lists page with
``start``/``limit`` and ``additional_data.pagination {start, limit,
more_items_in_collection, next_start}``; timestamps are ``YYYY-MM-DD HH:MM:SS`` UTC
(leads: ISO 8601 with milliseconds, as the spec shows). Errors are ``{"success":
false, "error", "error_info", "data": null, "additional_data": null}`` with the
real HTTP status.
"""

from __future__ import annotations

from pdmigrate.sandbox import (
    routes_v1_deal_products,
    routes_v1_files,
    routes_v1_leads,
    routes_v1_notes,
    routes_v1_orgrel,
    routes_v1_users,
)
from pdmigrate.sandbox.envelope import ApiRoute

ROUTES: list[ApiRoute] = [
    *routes_v1_notes.ROUTES,
    *routes_v1_files.ROUTES,
    *routes_v1_leads.ROUTES,
    *routes_v1_users.ROUTES,
    *routes_v1_orgrel.ROUTES,
    *routes_v1_deal_products.ROUTES,
]
