"""Fixtures for the real-browser tests.

Each test gets its own application, served by waitress on 127.0.0.1 (a free port) in a
background thread, on the suite's migrated database — so every browser test runs on
SQLite and on PostgreSQL like the rest of the suite. CSRF protection is on, as in
production. Data is written through :class:`~tests.browser.support.LiveData` (committed,
so the server's threads see it); the tables are emptied after the test by ``make_app``.

One Chromium per session (Debian's ``/usr/bin/chromium``, headless), a fresh browser
context per page. A browser that cannot start fails the test: it is never skipped.

At the end of each test the pages must not have logged a CSP violation, raised a
JavaScript error, logged any other console error, failed to load a stylesheet, script or
image, or sent a request anywhere but 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import CSP_LISTENER, DEVICES, LiveData, LiveServer, PageWatch

CHROMIUM = os.environ.get("MOTORPOOL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live_config(**settings): Flask settings for the live server of a browser test"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    # Keep each phase's report on the item: the context fixture screenshots a failed test.
    report = yield
    setattr(item, f"motorpool_report_{report.when}", report)
    return report


# --- the server -----------------------------------------------------------------------------------


@pytest.fixture
def live_server(make_app, backend: str, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The application served on ``live_server.url``, with CSRF protection on.

    ``@pytest.mark.live_config(MOTORPOOL_AUTO_ASSIGN=True)`` adds Flask settings.
    (This replaces pytest-flask's ``live_server`` for the tests in this folder.)
    """
    settings: dict[str, Any] = {"WTF_CSRF_ENABLED": True}
    for marker in reversed(list(request.node.iter_markers("live_config"))):
        settings.update(marker.kwargs)
    server = LiveServer(make_app(**settings), backend).start()
    yield server
    server.stop()  # before make_app disposes the engine and empties the tables


@pytest.fixture
def live_data(live_server: LiveServer) -> LiveData:
    """Create users, assets, detail sets and dispatches in the live server's database."""
    return LiveData(live_server)


# --- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"Playwright is not installed ({error}); run `make install-test`.", pytrace=False)
    try:
        driver = sync_playwright().start()
    except Exception as error:
        pytest.fail(f"Playwright's driver could not start: {error}", pytrace=False)
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (it calls "
            "scripts/ensure-system-packages.sh --browser) or `apt-get install chromium`, "
            "or set MOTORPOOL_CHROMIUM. Browser tests fail rather than skip when they cannot run.",
            pytrace=False,
        )
    try:
        chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as error:
        pytest.fail(f"Chromium ({CHROMIUM}) did not start under Playwright: {error}", pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture
def page_watch() -> PageWatch:
    """What every page of the test logged, raised and requested (checked after the test)."""
    return PageWatch()


def _test_dir_name(node: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")


@pytest.fixture
def shot(artifacts_dir: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``shot(page, name)`` saves ``<artifacts>/browser/<test>/<NN>-<name>.png`` (full page)."""
    folder = artifacts_dir / "browser" / _test_dir_name(request.node)
    shutil.rmtree(folder, ignore_errors=True)  # no stale pictures from an earlier run
    counter = iter(range(1, 1000))

    def take(page: Any, name: str, *, full_page: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
        path = folder / f"{next(counter):02d}-{safe}.png"
        # caret="initial": hiding the caret would leave style="" on every input, which htmx
        # then copies while settling a swap — a CSP violation the page itself never causes.
        page.screenshot(path=str(path), full_page=full_page, caret="initial")
        return path

    return take


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer, page_watch: PageWatch, shot: Callable[..., Path],
                request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``new_context("phone" | "desktop", **playwright_options)`` → a browser context whose
    relative URLs go to the live server; every page it opens is watched. All are closed,
    and the pages' problems asserted, after the test."""
    contexts: list[Any] = []

    def factory(device: str = "desktop", **options: Any) -> Any:
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {sorted(DEVICES)}")
        context = browser.new_context(base_url=live_server.url, **{**DEVICES[device], **options})
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_LISTENER)
        context.on("page", page_watch.attach)
        contexts.append(context)
        return context

    yield factory

    failed = getattr(request.node, "motorpool_report_call", None)
    for context in contexts:
        if failed is not None and failed.failed:
            for page in context.pages:
                try:
                    shot(page, "failure")
                except Exception:  # a crashed page has nothing to show
                    pass
        context.close()
    problems = page_watch.problems()
    if problems:
        pytest.fail("the browser reported problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def page(new_context: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """A page at desktop size, or at the size the test names with ``@both_sizes`` or
    ``@pytest.mark.parametrize("page", ["phone"], indirect=True)``."""
    device = getattr(request, "param", "desktop")
    return new_context(device).new_page()


@pytest.fixture
def phone(new_context: Callable[..., Any]) -> Any:
    """A page in a phone-sized context (360×740, touch)."""
    return new_context("phone").new_page()


@pytest.fixture
def desktop(new_context: Callable[..., Any]) -> Any:
    """A page in a desktop-sized context (1280×900)."""
    return new_context("desktop").new_page()
