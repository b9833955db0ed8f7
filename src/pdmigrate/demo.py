"""`make demo`: pdmigrate against the embedded sandbox (grows into the whole flow with each issue).

For now it starts the sandbox over real HTTP on a free 127.0.0.1 port (in a
background thread), and through :class:`~pdmigrate.pipedrive.client.PipedriveClient`
creates a person custom field, a person with an email, a phone and that custom
field, and a backdated note on the person; then it reads them back, prints a short
summary and checks the round trip. The data is synthetic. Exit 0 when every value
came back as sent, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from pdmigrate.errors import PdmigrateError

DEMO_TOKEN = "demo-token-not-a-real-pipedrive-token"  # noqa: S105 - sandbox-only, fake
FIELD_NAME = "Patient number"
PERSON: dict[str, Any] = {
    "name": "Ada Lovelace",
    "emails": [{"value": "ada.lovelace@example.com", "primary": True, "label": "home"}],
    "phones": [{"value": "+61 2 5550 1234", "primary": True, "label": "mobile"}],
}
PATIENT_NUMBER = "PM-000123"
NOTE = {"content": "<p>Migrated from the practice system (synthetic demo)</p>",
        "add_time": "2019-05-01 10:30:00"}  # fmt: skip


@dataclass
class DemoResult:
    """What the demo sent and read back, and how long it took."""

    url: str
    field_code: str
    person: dict[str, Any]
    note: dict[str, Any]
    seconds: float
    mismatches: list[str] = field(default_factory=list)


async def run(base_url: str, token: str = DEMO_TOKEN) -> DemoResult:
    """Create a custom field, a person and a note on ``base_url``; read them back."""
    from pdmigrate.pipedrive.client import PipedriveClient

    started = time.monotonic()
    async with PipedriveClient(base_url, token, plan="growth") as client:
        created_field = await client.person_fields.create(
            {"field_name": FIELD_NAME, "field_type": "varchar"}
        )
        code = str(created_field["field_code"])
        created = await client.persons.create({**PERSON, "custom_fields": {code: PATIENT_NUMBER}})
        await client.notes.create({**NOTE, "person_id": created["id"]})
        person = await client.persons.get(created["id"])
        notes = [n async for n in client.notes.list(person_id=created["id"])]
    result = DemoResult(
        url=base_url,
        field_code=code,
        person=person,
        note=notes[0] if notes else {},
        seconds=time.monotonic() - started,
    )
    result.mismatches = check(result)
    return result


def check(result: DemoResult) -> list[str]:
    """The values that did not come back as sent (empty when the round trip is exact)."""
    person = result.person
    wanted = {
        "name": PERSON["name"],
        "email": PERSON["emails"][0]["value"],
        "phone": PERSON["phones"][0]["value"],
        FIELD_NAME: PATIENT_NUMBER,
        "note add_time": NOTE["add_time"],
    }
    got = {
        "name": person.get("name"),
        "email": (person.get("emails") or [{}])[0].get("value"),
        "phone": (person.get("phones") or [{}])[0].get("value"),
        FIELD_NAME: (person.get("custom_fields") or {}).get(result.field_code),
        "note add_time": result.note.get("add_time"),
    }
    return [key for key, value in wanted.items() if got[key] != value]


def render(result: DemoResult, console: Console) -> None:
    """A short summary table of what went in and came back."""
    person = result.person
    table = Table(title=f"Sandbox round trip on {result.url}", title_justify="left")
    table.add_column("what")
    table.add_column("read back")
    table.add_row("person", f"#{person.get('id')} {person.get('name')}")
    table.add_row("email", str((person.get("emails") or [{}])[0].get("value")))
    table.add_row("phone", str((person.get("phones") or [{}])[0].get("value")))
    custom = (person.get("custom_fields") or {}).get(result.field_code)
    table.add_row(f"{FIELD_NAME} ({result.field_code[:8]}...)", str(custom))
    table.add_row("note (backdated)", f"#{result.note.get('id')} {result.note.get('add_time')}")
    console.print(table)
    if result.mismatches:
        console.print(f"[bold red]mismatch:[/] {', '.join(result.mismatches)}")
    else:
        console.print(f"[green]round trip exact[/] in {result.seconds:.2f} s; sandbox stopped")


def main() -> int:
    """Run the demo and return the exit code."""
    from pdmigrate.sandbox.app import create_app
    from pdmigrate.sandbox.config import SandboxConfig
    from pdmigrate.sandbox.server import ServerThread

    console = Console(stderr=True, highlight=False)
    try:
        with ServerThread(create_app(SandboxConfig(plan="growth"))) as server:
            console.print(f"sandbox listening on {server.url}")
            result = asyncio.run(run(server.url))
    except PdmigrateError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return exc.exit_code
    render(result, console)
    return 1 if result.mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
