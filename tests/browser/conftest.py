"""Browser tests: Playwright drives Debian's Chromium against a real `viza serve` with the demo company.

The stack, started once for this package (and stopped after its last test):

* the fake Telegram Bot API (``sandbox.telegram``) on 127.0.0.1, run by an event loop of its
  own in a background thread, so the tests themselves stay plain synchronous Playwright;
* ``viza migrate``, ``viza demo`` and ``viza serve`` as subprocesses, on SQLite in a fresh
  folder, the bot polling the fake;
* the demo accountant and the demo admin bound to fake Telegram users the way people are:
  an invite made through the API with the admin's token, then ``/start <code>`` in the chat.

People sign in to the pages as they do: ``/web`` to the bot, the link from its reply opened
in the browser and confirmed. Playwright never downloads a browser: it launches
``/usr/bin/chromium`` (``.ci/run`` installs it). Without it the tests are skipped, except
under ``CI=true``, where they must run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sandbox.local_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root on a closed network: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("VIZA_SCREENSHOTS") or Path(__file__).parent / "screenshots")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# A page that does not answer in this time has failed; the defaults (30 s) only slow a failing run.
TIMEOUT_MS = 10_000
LINK = re.compile(r"https?://\S+/login/link/[\w-]+")
TOKEN_LINE = re.compile(r"\((\w+)\s*\)\s+(viza_\S+)")

T = TypeVar("T")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Chromium) against `viza serve`")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the server's log; its pages are photographed (see new_context)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack, Stack):
        report.sections.append(("viza serve (last lines of its log)", stack.log_tail()))


def need_chromium() -> None:
    """Skip without the browser, but never under CI: there the browser tests must run."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as error:
            missing = f"the playwright package is missing ({error}); pip install -e '.[test]'"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {missing}", pytrace=False)
        pytest.skip(f"browser tests need Chromium: {missing}")


class LoopThread:
    """An asyncio loop in a daemon thread: the fake Telegram lives there, tests call into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-telegram", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass
class Stack:
    """The running service, its demo people and their Telegram chats."""

    base_url: str
    data_dir: Path
    log_path: Path
    tokens: dict[str, str]          # demo key (admin, accountant, …) → API token
    employees: dict[str, int]       # demo key → employee id
    names: dict[str, str]           # demo key → full name
    loop: LoopThread
    tg: Any                         # sandbox.telegram.FakeTelegram
    users: dict[str, Any] = field(default_factory=dict)  # demo key → FakeUser

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.tokens[who]}"},
                            timeout=10)

    def say(self, who: str, text: str, expect: Callable[[str], bool], what: str) -> str:
        """Send ``text`` to the bot as ``who``; the text of its first new message that ``expect`` likes."""
        user = self.users[who]

        async def exchange() -> str:
            before = len(user.chat.bot_messages)
            await user.send(text)
            message = await self.tg.wait_for(
                lambda: next((m for m in user.chat.bot_messages[before:] if expect(m.text or "")), None),
                timeout=10, message=f"{who} got no {what} after {text!r}")
            return message.text

        return self.loop.run(exchange())

    def login_link(self, who: str) -> str:
        """/web in the bot, as a person does; the one-time link from the reply."""
        reply = self.say(who, "/web", lambda text: bool(LINK.search(text)), "sign-in link")
        url = LINK.search(reply).group(0)
        assert url.startswith(self.base_url + "/login/link/"), f"the link points elsewhere: {url}"
        return url

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _viza(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend.cli", *args]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args[2:])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _wait_healthy(base_url: str, server: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"viza serve exited with {server.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a port that is not open yet: nothing to wait on instead
    raise AssertionError(f"viza serve did not answer /healthz in {timeout}s:\n{log_path.read_text(errors='replace')}")


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    need_chromium()
    from sandbox.telegram import FakeTelegram, RateLimits

    home = tmp_path_factory.mktemp("viza-browser")
    data_dir = home / "data"
    loop = LoopThread()
    server: subprocess.Popen | None = None
    tg = None
    try:
        # People type slower than tests: a larger per-chat burst keeps sign-ins quick (as tests/bot does).
        tg = loop.run(FakeTelegram(token="424242:BROWSER", limits=RateLimits(private_burst=30)).start())
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIZA_")},
            "PYTHONPATH": str(ROOT),
            "VIZA_DATA_DIR": str(data_dir),
            "VIZA_TELEGRAM_TOKEN": tg.token,
            "VIZA_TELEGRAM_API_URL": tg.base_url,
            "VIZA_TELEGRAM_BURST_CHAT": "29",
            "VIZA_WEB_URL": base_url,
            "VIZA_DOCUMENTS_WARM_UP": "false",
            "VIZA_SCHEDULER_ENABLED": "false",  # no reminders racing the tests
        }
        _run(_viza("migrate"), env, home)
        report = _run(_viza("demo"), env, home)
        tokens = dict(TOKEN_LINE.findall(report))
        assert {"admin", "accountant"} <= tokens.keys(), f"no tokens in the demo's report:\n{report}"

        log_path = home / "serve.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(_viza("serve", "--host", "127.0.0.1", "--port", str(port)), env=env,
                                      cwd=home, stdout=log, stderr=subprocess.STDOUT)
        _wait_healthy(base_url, server, log_path)

        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {tokens['admin']}"},
                          timeout=10) as admin:
            response = admin.get("/api/v1/employees")
            assert response.status_code == 200, response.text
        by_name = {e["full_name"]: e["id"] for e in response.json()}
        names = {"admin": "Ирина Белова", "accountant": "Татьяна Кузнецова", "manager": "Дмитрий Орлов"}
        world = Stack(base_url=base_url, data_dir=data_dir, log_path=log_path, tokens=tokens,
                      employees={key: by_name[name] for key, name in names.items()}, names=names, loop=loop, tg=tg)

        # Bound the way people are: an invite from the admin, /start <code> in the chat.
        for index, who in enumerate(("accountant", "admin")):
            with world.api("admin") as admin:
                invite = admin.post(f"/api/v1/employees/{world.employees[who]}/invites", json={"ttl_hours": 1})
            assert invite.status_code == 201, invite.text

            async def new_user(user_id: int = 8100 + index, first_name: str = names[who].split()[0]):
                return tg.user(user_id, first_name, language_code="ru")  # on the fake's own loop

            world.users[who] = loop.run(new_user())
            world.say(who, invite.json()["start_command"], lambda text: "привязан" in text, "binding confirmation")
        yield world
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
        if tg is not None:
            loop.run(tg.close())
        loop.stop()


@pytest.fixture(scope="package")
def chromium(stack) -> Iterator[Any]:
    """Package-scoped, not session-scoped: while the sync API runs, its event loop counts as the
    thread's running loop, and every asyncio test after these (asyncio.run too) would fail."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shot(screenshots) -> Callable[[Any, str], Path]:
    """``shot(page, "registry")`` saves the whole page as registry.png."""

    def save(page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def new_context(request, chromium, screenshots) -> Iterator[Callable[..., Any]]:
    """Fresh browser contexts (cookies of their own, downloads accepted); closed at the end, and
    when the test failed, each page they showed is saved first as failed-<test>-<n>.png."""
    contexts = []

    def make(viewport: dict[str, int] | None = None):
        context = chromium.new_context(viewport=viewport or DESKTOP, locale="ru-RU", accept_downloads=True,
                                       timezone_id="Europe/Moscow")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    report = getattr(request.node, "report_call", None)
    pages = [page for context in contexts for page in context.pages]
    if report is not None and report.failed:
        from playwright.sync_api import Error as PlaywrightError

        for number, page in enumerate(pages, start=1):
            # A page that crashed or closed has nothing to show: the failure itself says more.
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=str(screenshots / f"failed-{request.node.name}-{number}.png"), full_page=True)
    for context in contexts:
        context.close()


def confirm_link(page, url: str) -> None:
    """Open a sign-in link and confirm it; ends on the registry."""
    page.goto(url)
    page.locator("[data-test=confirm-login]").click()
    page.wait_for_url("**/registry**")


@pytest.fixture(scope="package")
def signed_in_states(stack, chromium) -> dict[str, list[dict[str, Any]]]:
    """Each person's cookies after their first sign-in by link, for later tests that start signed in."""
    return {}


@pytest.fixture
def sign_in(stack, new_context, signed_in_states) -> Callable[..., Any]:
    """``sign_in("accountant")``: a page in a new browser context, signed in as that demo person
    (the first time by a /web link from the bot; later contexts reuse that session's cookies)."""

    def open_as(who: str, viewport: dict[str, int] | None = None):
        context = new_context(viewport)
        if who in signed_in_states:
            context.add_cookies(signed_in_states[who])
            page = context.new_page()
        else:
            page = context.new_page()
            confirm_link(page, stack.login_link(who))
            signed_in_states[who] = context.cookies()
        return page

    return open_as
