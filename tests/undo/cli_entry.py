"""`python -m tests.undo.cli_entry ...`: the pdmigrate CLI with map/plan/run and delta/rollback.

Used by the subprocess tests until cli/__init__.py lists these command modules.
"""

from __future__ import annotations

from pdmigrate.cli import cli, main, mapping_cmd, plan_cmd, run_cmd, undo_cmd

for _module in (mapping_cmd, plan_cmd, run_cmd, undo_cmd):
    for _command in _module.COMMANDS:
        if _command.name not in cli.commands or _command.name in ("delta", "rollback", "run"):
            cli.add_command(_command)

if __name__ == "__main__":
    main()
