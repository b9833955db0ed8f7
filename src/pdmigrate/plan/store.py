"""plan.json in the workspace: written by ``plan``, read by ``run``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pdmigrate.errors import ConfigError
from pdmigrate.plan.model import Plan, plan_from_dict, plan_to_dict
from pdmigrate.workspace import Workspace

PLAN_NAME = "plan.json"


def plan_path(workspace: Workspace) -> Path:
    """Where the workspace's plan lives."""
    return workspace.root / PLAN_NAME


def save_plan(workspace: Workspace, plan: Plan) -> Path:
    """Write plan.json atomically (temp file + rename); returns its path."""
    path = plan_path(workspace)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(tmp, path)
    return path


def load_plan(workspace: Workspace) -> Plan:
    """Read plan.json; ConfigError (exit 2) when missing or unreadable, naming the file."""
    path = plan_path(workspace)
    if not path.is_file():
        raise ConfigError(f"{path}: no plan yet", hint="run `pdmigrate plan` first")
    try:
        return plan_from_dict(json.loads(path.read_text("utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not a plan this version can read ({type(exc).__name__}: {exc})",
            hint="run `pdmigrate plan` again",
        ) from None
