"""A small headless-Chromium driver over the DevTools protocol (aiohttp websocket), for the browser tests.

Why not a browser-automation package: Debian's `chromium` is what the machine has (`make browser`);
the protocol is all a test needs to type, click, read the page and take screenshots.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(AssertionError):
    pass


class Page:
    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id
        self.console: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, session_id=self.session_id, **params)

    async def goto(self, url: str, timeout: float = 30) -> None:
        loaded = self.browser.expect("Page.loadEventFired", self.session_id)
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(loaded, timeout)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')} "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 30, what: str = "") -> Any:
        """Poll a JS expression until it is truthy (the page loads its data asynchronously)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                body = await self.evaluate("document.body ? document.body.innerText.slice(0, 1500) : ''")
                raise BrowserError(f"timed out waiting for {what or expression}; page says: {body}; "
                                   f"console: {self.console[-5:]}")
            await asyncio.sleep(0.2)

    async def type(self, selector: str, text: str) -> None:
        await self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); "
                            f"e.value = {json.dumps(text)}; e.dispatchEvent(new Event('input', {{bubbles: true}})); "
                            f"e.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()")

    async def click(self, selector: str, navigates: bool = False, timeout: float = 30) -> None:
        loaded = self.browser.expect("Page.loadEventFired", self.session_id) if navigates else None
        found = await self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                                    f"if (!e) return false; e.click(); return true; }})()")
        if not found:
            raise BrowserError(f"nothing matches {selector}")
        if loaded is not None:
            await asyncio.wait_for(loaded, timeout)

    async def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = await self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = await self.send("Page.captureScreenshot", **params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path


class Browser:
    """One headless Chromium with its own throw-away profile; `async with Browser() as b: page = await b.page()`."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="vigie-chromium-"))
        self.process: subprocess.Popen[str] | None = None
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self._pages: dict[str, Page] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Browser:
        binary = chromium_path()
        if binary is None:
            raise BrowserError("chromium is not installed (make browser)")
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-extensions", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        url = await asyncio.to_thread(self._devtools_url)
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url, max_msg_size=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        return self

    def _devtools_url(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        lines = []
        for _ in range(200):
            line = self.process.stderr.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        raise BrowserError("chromium did not start: " + "".join(lines)[-2000:])

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(BrowserError(f"{data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
                continue
            method, session = data.get("method"), data.get("sessionId")
            if method == "Runtime.consoleAPICalled" and session in self._pages:
                args = data["params"].get("args", [])
                self._pages[session].console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            if method == "Runtime.exceptionThrown" and session in self._pages:
                self._pages[session].console.append("exception: " + json.dumps(data["params"])[:500])
            for waiter in list(self._waiters):
                name, wanted_session, future = waiter
                if name == method and (wanted_session is None or wanted_session == session) and not future.done():
                    future.set_result(data.get("params", {}))
                    self._waiters.remove(waiter)

    def expect(self, method: str, session_id: str | None = None) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, session_id, future))
        return future

    async def send(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        assert self.ws is not None
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        await self.ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, 60)

    async def page(self, width: int | None = None, height: int | None = None, mobile: bool = False) -> Page:
        """A new tab with its own cookies (a separate browser context: a second person at another desk)."""
        context = await self.send("Target.createBrowserContext", disposeOnDetach=True)
        target = await self.send("Target.createTarget", url="about:blank", browserContextId=context["browserContextId"])
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        page = Page(self, attached["sessionId"])
        self._pages[page.session_id] = page
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        await page.send("Emulation.setDeviceMetricsOverride", width=width or self.width, height=height or self.height,
                        deviceScaleFactor=1, mobile=mobile)
        return page

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()
        if self.process is not None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
