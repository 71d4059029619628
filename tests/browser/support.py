"""What the browser tests build on: the live server, its data, and what a page must not do.

- :class:`LiveServer` serves one application with waitress on 127.0.0.1 in a background
  thread and stops it completely (listening socket, connections, worker threads).
- :class:`LiveData` writes users, assets, detail sets and dispatches into the live
  server's database through the factories and services, committed, as the system user.
- :class:`PageWatch` records what every page of a browser context logged, raised and
  requested; :meth:`PageWatch.problems` lists what makes a test fail.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from waitress import create_server

from app.extensions import db
from app.models import Asset, Dispatch, User
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as, system_user
from tests.factories import (
    DEFAULT_PASSWORD,
    AssetFactory,
    AssetTypeFactory,
    DispatchFactory,
    TechnicianProfileFactory,
    UserFactory,
)

HOST = "127.0.0.1"

#: Browser context settings by device name: ``new_context("phone")`` and so on.
DEVICES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}

#: ``@both_sizes`` runs a test that takes the ``page`` fixture at phone and at desktop size.
both_sizes = pytest.mark.parametrize("page", list(DEVICES), indirect=True)


# --- the live server ---------------------------------------------------------------------------


class LiveServer:
    """``app`` served over HTTP on ``url`` (``http://127.0.0.1:<free port>``)."""

    def __init__(self, app: Flask, backend: str, *, threads: int = 8) -> None:
        self.app = app
        self.backend = backend
        self._map: dict[int, Any] = {}
        # Port 0: the operating system picks a free port; the socket listens from here on.
        self._server = create_server(app, map=self._map, host=HOST, port=0, threads=threads,
                                     ident="motorpool-test", channel_timeout=30)
        self.port = int(self._server.effective_port)
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._server.run, name=f"waitress-{self.port}", daemon=True)
        self._stopped = False

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every socket from the server's own loop, then wait for all of its threads."""
        if self._stopped:
            return
        self._stopped = True
        done = threading.Event()

        def close_everything() -> None:
            for dispatcher in list(self._map.values()):
                if dispatcher is not self._server.trigger:
                    dispatcher.close()
            self._server.trigger.close()  # the map is empty now: the loop returns
            done.set()

        if self._thread.is_alive():
            self._server.trigger.pull_trigger(close_everything)
            self._thread.join(timeout=15)
        if not done.is_set():  # the loop never ran (or died): close from here
            close_everything()
        self._server.task_dispatcher.shutdown(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError(f"the live server on {self.url} did not stop within 15 s")

    def path(self, endpoint: str, **values: Any) -> str:
        """The path of a Flask endpoint, e.g. ``path("dispatches.index", status="Created")``."""
        from flask import url_for

        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def absolute(self, path: str) -> str:
        return self.url + path

    @contextmanager
    def database(self) -> Iterator[Any]:
        """The live app's ``db.session`` as the system user; commits at the end, always closed.

        Use it for reads and for writes the helpers in :class:`LiveData` do not cover::

            with live_server.database() as session:
                session.scalar(select(Dispatch.status).where(Dispatch.id == ref.id))
        """
        with self.app.app_context():
            try:
                user = system_user()
                db.session.commit()
                with acting_as(user):
                    yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


# --- data in the live server's database --------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A user who can sign in (plain values: usable after the session that made them has closed)."""

    id: int
    email: str
    name: str
    role: str
    password: str = DEFAULT_PASSWORD


@dataclass(frozen=True)
class AssetRef:
    id: int
    asset_tag: str
    name: str
    asset_type: str


@dataclass(frozen=True)
class DispatchRef:
    id: int
    number: str
    title: str
    status: str


def _person(user: User) -> Person:
    return Person(id=user.id, email=user.email, name=user.name, role=user.role)


def _dispatch_ref(dispatch: Dispatch) -> DispatchRef:
    return DispatchRef(id=dispatch.id, number=dispatch.dispatch_number, title=dispatch.title, status=dispatch.status)


class LiveData:
    """Creates records in the live server's database; each call commits before it returns."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    def user(self, role: str = "manager", **fields: Any) -> Person:
        with self.server.database():
            return _person(UserFactory(role=role, **fields))

    def admin(self, **fields: Any) -> Person:
        return self.user("admin", **fields)

    def manager(self, **fields: Any) -> Person:
        return self.user("manager", **fields)

    def technician(self, *, profile: bool = True, **fields: Any) -> Person:
        """A technician, by default with a profile that works round the clock (assignable)."""
        with self.server.database():
            user = UserFactory(role="technician", **fields)
            if profile:
                TechnicianProfileFactory(user=user)
            return _person(user)

    def asset(self, *, asset_type: str = "Truck", detail_types: tuple[str, ...] = ("truck_checklist",),
              **fields: Any) -> AssetRef:
        """An asset of type ``asset_type``; a new type gets a detail set of ``detail_types``
        (through the detail-set service), so the asset's dispatches get those checklists.
        Assets named with the same ``asset_type`` share the type and its detail set."""
        from app.models import AssetType
        from app.services import detail_sets

        with self.server.database() as session:
            kind = session.scalar(select(AssetType).where(AssetType.name == asset_type))
            if kind is None:
                kind = AssetTypeFactory(name=asset_type)
                for key in detail_types:
                    detail_sets.add_type_to_asset_type(kind, key)
            asset = AssetFactory(asset_type=kind, **fields)
            return AssetRef(id=asset.id, asset_tag=asset.asset_tag, name=asset.name, asset_type=kind.name)

    def dispatch(self, asset: AssetRef | None = None, *, status: str = "Created",
                 technician: Person | None = None, **fields: Any) -> DispatchRef:
        """A dispatch created through the creation rules, then moved to ``status`` through the
        status service (``Assigned``/``In Progress``/``Completed`` need ``technician``)."""
        asset = asset or self.asset()
        with self.server.database() as session:
            dispatch = DispatchFactory(asset=session.get(Asset, asset.id), **fields)
            _move(session, dispatch, status, technician)
            return _dispatch_ref(dispatch)

    def demo(self, dispatches: int = 0) -> None:
        """The demo fleet and people (``app.services.demo``), and ``dispatches`` dispatches.

        Demo accounts sign in with ``app.services.demo.DEMO_PASSWORD``.
        """
        from app.services import demo

        with self.server.database():
            demo.seed_fleet()
            if dispatches:
                demo.seed_dispatches(dispatches)


def _move(session: Any, dispatch: Dispatch, status: str, technician: Person | None) -> None:
    if status == "Created":
        return
    if status == "Cancelled":
        dispatch_service.change_status(dispatch, "Cancelled", "Cancelled for the test")
        return
    if technician is None:
        raise ValueError(f"a dispatch in status {status!r} needs a technician")
    dispatch_service.assign(dispatch, session.get(User, technician.id), "Assigned for the test")
    path = {"Assigned": [], "In Progress": ["In Progress"], "Completed": ["In Progress", "Completed"]}
    if status not in path:
        raise ValueError(f"no path to status {status!r}")
    for step in path[status]:
        dispatch_service.change_status(dispatch, step)


# --- what the browser saw ----------------------------------------------------------------------

#: Reports every CSP violation as a console error (Chromium logs its own message too).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("securitypolicyviolation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline")
    + " at " + event.sourceFile + ":" + event.lineNumber + ":" + event.columnNumber + " sample " + event.sample);
});
"""

_SUBRESOURCES = {"stylesheet", "script", "image", "font", "media"}
# A refused page or htmx request is often what a test is about; Chromium logs each one as
# "Failed to load resource". Subresources that fail are caught from the responses instead.
_HTTP_STATUS_LOG = re.compile(r"^Failed to load resource: the server responded with a status of \d+")
_CSP = re.compile(r"Content Security Policy|^securitypolicyviolation", re.IGNORECASE)


@dataclass
class PageWatch:
    """Everything the pages of one test logged, raised and requested."""

    allowed_hosts: frozenset[str] = frozenset({HOST})
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_resources: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    _allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Let console errors matching ``pattern`` (a regular expression) pass, for a test that expects one."""
        self._allowed.append(re.compile(pattern))

    def attach(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    def _on_console(self, message: Any) -> None:
        text = message.text
        self.console.append(f"[{message.type}] {text}")
        if message.type != "error" or any(p.search(text) for p in self._allowed):
            return
        if _CSP.search(text):
            self.csp_violations.append(text)
        elif not _HTTP_STATUS_LOG.search(text):
            self.console_errors.append(text)

    def _on_response(self, response: Any) -> None:
        if response.request.resource_type in _SUBRESOURCES and response.status >= 400:
            self.failed_resources.append(f"{response.status} {response.url}")

    def _on_request_failed(self, request: Any) -> None:
        if request.resource_type in _SUBRESOURCES:
            self.failed_resources.append(f"{request.failure} {request.url}")

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the live server's (data: and blob: URLs never leave the page)."""
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in self.allowed_hosts:
                foreign.append(url)
        return foreign

    def problems(self) -> list[str]:
        found = []
        found += [f"CSP violation: {text}" for text in self.csp_violations]
        found += [f"JavaScript error: {text}" for text in self.page_errors]
        found += [f"console error: {text}" for text in self.console_errors]
        found += [f"resource failed: {text}" for text in self.failed_resources]
        found += [f"request left {HOST}: {url}" for url in self.foreign_requests()]
        return found


# --- journeys ------------------------------------------------------------------------------------


def sign_in(page: Any, person: Person, *, path: str = "/auth/login") -> None:
    """Sign in through the real form, as a person would; waits for the page after it."""
    page.goto(path)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def open_menu(page: Any) -> None:
    """On a phone the main menu folds behind the "Menu" button: open it (nothing on a desktop)."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def main_nav(page: Any) -> Any:
    """The main navigation, opened first on a phone."""
    open_menu(page)
    return page.get_by_role("navigation", name="Main")


def sign_out(page: Any) -> None:
    open_menu(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways).

    Measured against the viewport the context was given, not ``clientWidth``: a mobile browser
    (``is_mobile``, the phone context) widens its layout viewport to fit content that is too
    wide, so ``clientWidth`` grows with the page and the difference would stay 0.
    """
    width = page.viewport_size["width"] if page.viewport_size else page.evaluate("window.innerWidth")
    return int(page.evaluate("document.documentElement.scrollWidth")) - int(width)
