"""`python -m tests.engine.cli_entry ...`: the pdmigrate CLI with map/confirm/plan/run/status.

Used by the subprocess tests until cli/__init__.py lists these command modules.
"""

from __future__ import annotations

from pdmigrate.cli import cli, main, mapping_cmd, plan_cmd, run_cmd

for _module in (mapping_cmd, plan_cmd, run_cmd):
    for _command in _module.COMMANDS:
        cli.add_command(_command)

if __name__ == "__main__":
    main()
