"""A local, Pipedrive-compatible company account for tests, demos and dry runs."""
