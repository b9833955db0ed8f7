"""Pipedrive API: the endpoint table with token costs, and the client."""
