"""pdmigrate: move a practice's data from practice-management exports into Pipedrive."""

__version__ = "0.1.0"
