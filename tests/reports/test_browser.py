"""Headless Chromium opens the generated summary, follows its links and takes a screenshot.

Chromium (Debian's `chromium` package, installed by `make browser-deps`) is driven over
the DevTools protocol with a small synchronous websocket client, so console messages,
uncaught exceptions and failed loads are all seen. Everything stays on 127.0.0.1 and
file:// URLs; the browser runs with networking features off.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from websockets.sync.client import ClientConnection, connect

from pdmigrate.cli import cli
from pdmigrate.reports.build import build_reports
from pdmigrate.workspace import create_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
)
TIMEOUT = 30.0


class Page:
    """One browser tab over the DevTools protocol (flattened session on the browser socket)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session: str | None = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")

    def _call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False)\
            -> dict[str, Any]:  # fmt: skip
        ident = next(self.ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == ident:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(reply)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a DevTools method in this tab's session."""
        return self._call(method, params, session=True)

    def wait_for(self, method: str) -> dict[str, Any]:
        """The next event ``method`` of this session (earlier ones included)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method and event.get("sessionId") == self.session:
                    return self.events.pop(i)
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if "method" in reply:
                self.events.append(reply)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event; a failed navigation fails the test."""
        self.events = [e for e in self.events if e["method"] != "Page.loadEventFired"]
        result = self.call("Page.navigate", {"url": url})
        assert not result.get("errorText"), f"{url}: {result.get('errorText')}"
        self.wait_for("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries seen so far."""
        self.eval("1")  # flush pending events
        out = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in {
                "error",
                "warning",
                "assert",
            }:
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif event["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        return out


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A fresh headless Chromium (own profile folder) and one tab."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(`make browser-deps`, or `apt-get install -y chromium` as root)"
        )
    profile = tmp_path / "chromium-profile"
    log = (tmp_path / "chromium.log").open("wb")
    process = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
            assert process.poll() is None, (
                "chromium exited: " + (tmp_path / "chromium.log").read_text()
            )
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=TIMEOUT) as ws:
            yield Page(ws)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_summary_page_in_chromium(
    tmp_path: Path, page: Page, synth_exports: Callable[[str], Path]
) -> None:
    """The summary shows the reconciliation (placeholder), its links open cleanly, no errors."""
    ws = create_workspace(
        tmp_path / "ws",
        source="practicebynumbers",
        exports=synth_exports("practicebynumbers"),
        target="https://example.pipedrive.com",
    )
    assert CliRunner().invoke(cli, ["audit", "-w", str(ws.root)]).exit_code == 0
    with ws.state() as state:
        run_id = state.start_run("sample", profile="practicebynumbers")
        state.conn.execute(
            "CREATE TABLE sample_diff (run_id INTEGER, entity TEXT, source_key TEXT, field TEXT, "
            "source_value TEXT, expected TEXT, actual TEXT, status TEXT)"
        )
        state.conn.executemany(
            "INSERT INTO sample_diff VALUES (?, 'person', ?, ?, 'x', 'x', ?, ?)",
            [
                (run_id, "PR1/patients/1", "name", "x", "match"),
                (run_id, "PR1/patients/1", "email", "y", "mismatch"),
                (run_id, "PR1/patients/2", "phone", "", "missing"),
                (run_id, "PR1/patients/2", "birthday", "x", "transformed"),
            ],
        )
        state.finish_run(run_id, "done", {"records": 2})
    build_reports(ws)
    reports = ws.root / "reports"

    page.open((reports / "index.html").as_uri())
    assert page.eval("document.title").startswith("Migration summary")
    recon = page.eval(
        "(() => { const e = document.getElementById('reconciliation');"
        " return e && {text: e.textContent, visible: e.offsetParent !== null,"
        " table: e.tagName === 'TABLE'}; })()"
    )
    assert recon is not None, "no reconciliation element"
    assert recon["visible"]
    assert recon["table"] or "not run yet" in recon["text"]
    shot = page.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    png = base64.b64decode(shot["data"])
    (tmp_path / "summary.png").write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000

    links = page.eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    pages = sorted({u for u in links if u.endswith(".html")})
    expected = {"index", "source", "audit", "sample", "failures", "workflows"}
    assert {Path(u).stem for u in pages} == expected
    for url in links:
        assert url.startswith("file://"), url
        assert Path(url.removeprefix("file://")).is_file(), url
    for url in pages:
        page.open(url)
        assert page.eval("document.querySelector('h1') !== null"), url
    assert page.problems() == []

    page.open((reports / "sample.html").as_uri())
    visible = "Array.from(document.querySelectorAll('#diff tbody tr')).filter(r => r.offsetParent !== null).map(r => r.className)"  # noqa: E501
    assert page.eval(visible) == ["mismatch", "match", "transformed", "missing"]
    page.eval("document.getElementById('show-mismatch').click()")
    assert page.eval(visible) == ["mismatch"]
    page.eval("document.getElementById('show-problems').click()")
    assert sorted(page.eval(visible)) == ["mismatch", "missing"]
    assert page.problems() == []


def test_the_error_check_sees_console_errors_and_failed_loads(tmp_path: Path, page: Page) -> None:
    """The checker itself works: a console.error and a missing image are both reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><title>bad</title><img src='missing.png'>"
        "<script>console.error('boom')</script>",
        encoding="utf-8",
    )
    page.open(bad.as_uri())
    problems = page.problems()
    assert any("console.error" in p and "boom" in p for p in problems), problems
    assert any(p.startswith("log:") and "missing.png" in p for p in problems), problems
