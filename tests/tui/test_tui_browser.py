"""`aks-ai-wizard serve` in headless Chromium: the page loads, the first screen renders, a key press moves to
the next step; `serve` refuses a non-loopback host unless told, and then warns.

Chromium is driven over the DevTools protocol (aiohttp, which textual-serve brings). The terminal is drawn on a
canvas, so the test reads what it shows from xterm.js's own buffer (the page's terminal object, found with
Runtime.queryObjects) rather than from pixels.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.timeout(120)

SCREEN_TEXT = """function () {
    const view = this.find(o => o && o.terminal && o.terminal.buffer && "websocket_url" in o);
    if (!view) return "";
    const t = view.terminal, b = t.buffer.active, out = [];
    for (let i = 0; i < t.rows; i++) { const line = b.getLine(i); out.push(line ? line.translateToString(true) : ""); }
    return out.join("\\n");
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def serve_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "wizard", "serve", *args]


class DevTools:
    """The few DevTools protocol calls the test needs, over one page's websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    async def screen_text(self) -> str:
        proto = await self.call("Runtime.evaluate", expression="Object.prototype")
        objects = await self.call("Runtime.queryObjects", prototypeObjectId=proto["result"]["objectId"])
        result = await self.call("Runtime.callFunctionOn", objectId=objects["objects"]["objectId"],
                                 functionDeclaration=SCREEN_TEXT, returnByValue=True)
        await self.call("Runtime.releaseObject", objectId=objects["objects"]["objectId"])
        return str(result["result"].get("value") or "")

    async def wait_text(self, *texts: str, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                shown = await self.screen_text()
            except AssertionError as exc:  # the page navigated (a reload while the app starts): read again
                if "Cannot find context" not in str(exc) or time.monotonic() > deadline:
                    raise
                shown = ""
            if all(t in shown for t in texts):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not in the browser's terminal:\n{shown}")
            await asyncio.sleep(0.3)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, **({"text": "\r"} if kind == "keyDown" else {}))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
async def test_served_wizard_renders_in_chromium_and_takes_keys(tmp_path: Path) -> None:
    import aiohttp

    port, devtools_port = free_port(), free_port()
    env = {**os.environ, "AKS_AI_WIZARD_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO),
           "TEXTUAL_ANIMATIONS": "none"}
    server = subprocess.Popen(serve_cmd("--simulate", "--sim-speed", "3000", "--port", str(port)), cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    browser = None
    try:
        page = wait_http(f"http://127.0.0.1:{port}/").decode()
        assert "aks-ai-wizard" in page  # the page loads, titled
        browser = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
                                    f"--remote-debugging-port={devtools_port}", "--window-size=1100,760",
                                    f"http://127.0.0.1:{port}/"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        targets = json.loads(wait_http(f"http://127.0.0.1:{devtools_port}/json/list"))
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
            tools = DevTools(ws)
            first = await tools.wait_text("1/13", "Sign in", "SIMULATED")  # the first screen renders
            assert "Sign-in method" in first
            await tools.call("Runtime.evaluate", expression="document.querySelector('.xterm-helper-textarea')"
                                                            ".focus()")
            await tools.press_enter()  # Enter on the sign-in choice: sign in and go on
            second = await tools.wait_text("2/13", "Subscription", "Simulated Subscription")
            assert "1/13" not in second
            shot = await tools.call("Page.captureScreenshot", format="png")
            (tmp_path / "browser.png").write_bytes(__import__("base64").b64decode(shot["data"]))
        sessions = list((tmp_path / "home").glob("runs/*")) if (tmp_path / "home").exists() else []
        assert not list(tmp_path.glob("*.yaml")) and len(sessions) <= 1  # nothing lands in the server's folder
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(10)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_serve_refuses_a_remote_host_without_the_flag() -> None:
    out = subprocess.run(serve_cmd("--host", "0.0.0.0", "--port", str(free_port())), capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert out.returncode == 1 and "not a loopback address" in out.stderr and "--allow-remote" in out.stderr


def test_serve_on_a_remote_host_warns_whose_identity_the_page_uses(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(serve_cmd("--simulate", "--host", "0.0.0.0", "--allow-remote", "--port", str(port)),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_http(f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert "WARNING" in err and "Azure identity" in err
