"""The web application: factory and configuration, sign-in, pages per role, the dispatch
list, security headers, cookies, CSRF, query counts and logging."""

from __future__ import annotations

import logging
import os
import re
import stat
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from sqlalchemy import event, text

from app import _sqlite_pragmas, create_app
from app import config as settings
from app.extensions import db
from app.models import Dispatch
from app.services import dispatches
from app.services.actors import acting_as
from tests.factories import (
    DEFAULT_PASSWORD,
    AdminFactory,
    AssetFactory,
    DispatchFactory,
    ManagerFactory,
    TechnicianFactory,
)
from tests.support.query_counter import counting_queries

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def login(client, user, password: str = DEFAULT_PASSWORD):
    return client.post("/auth/login", data={"email": user.email, "password": password})


def html(response) -> str:
    return response.get_data(as_text=True)


# --- the application factory -------------------------------------------------------------------


@pytest.fixture
def instance_dir(tmp_path, monkeypatch):
    """Make create_app use a fresh instance folder, with no settings from the environment."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    for name in ("SECRET_KEY", "DATABASE_URL", "SESSION_COOKIE_SECURE", "SERVER_NAME", "MOTORPOOL_DISABLED_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return folder


def sqlite_config(tmp_path, **extra) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'factory.db'}", **extra}


def test_create_app_applies_the_test_config_over_the_defaults(instance_dir, tmp_path):
    app = create_app(sqlite_config(tmp_path, DISPATCHES_PER_PAGE=7, SECRET_KEY="given"))
    try:
        assert app.testing
        assert app.config["DISPATCHES_PER_PAGE"] == 7
        assert app.config["SECRET_KEY"] == "given"
        assert app.config["WTF_CSRF_ENABLED"] is True  # a safe default the test config did not touch
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert app.instance_path == str(instance_dir)
        assert {"auth", "main", "dispatches"} <= set(app.blueprints)
    finally:
        dispose(app)


def test_secret_key_is_generated_once_into_the_instance_folder_and_reused(instance_dir, tmp_path):
    first = create_app(sqlite_config(tmp_path))
    second = create_app(sqlite_config(tmp_path))
    try:
        key_file = instance_dir / "secret_key"
        assert key_file.exists()
        key = key_file.read_text().strip()
        assert re.fullmatch(r"[0-9a-f]{64}", key)
        assert first.config["SECRET_KEY"] == key == second.config["SECRET_KEY"]
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    finally:
        dispose(first)
        dispose(second)


def test_a_different_instance_folder_gets_a_different_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert settings.load_secret_key(str(tmp_path / "a")) != settings.load_secret_key(str(tmp_path / "b"))


def test_secret_key_from_the_environment_is_used_and_nothing_is_written(instance_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app(sqlite_config(tmp_path))
    try:
        assert app.config["SECRET_KEY"] == "from-the-environment"
        assert not (instance_dir / "secret_key").exists()
    finally:
        dispose(app)


def test_instance_config_file_is_read_and_the_environment_wins_over_it(instance_dir, tmp_path, monkeypatch):
    instance_dir.mkdir(parents=True)
    (instance_dir / "config.py").write_text('DISPATCHES_PER_PAGE = 9\nSECRET_KEY = "from-instance-file"\n')
    app = create_app(sqlite_config(tmp_path))
    try:
        assert app.config["DISPATCHES_PER_PAGE"] == 9
        assert app.config["SECRET_KEY"] == "from-instance-file"
    finally:
        dispose(app)

    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    app = create_app(sqlite_config(tmp_path))
    try:
        assert app.config["SECRET_KEY"] == "from-env"
        assert app.config["SESSION_COOKIE_SECURE"] is True
    finally:
        dispose(app)


def test_default_database_is_sqlite_in_the_instance_folder(instance_dir):
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    try:
        assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance_dir / 'motorpool.db'}"
    finally:
        dispose(app)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@db-host/motorpool", "postgresql+psycopg://u:p@db-host/motorpool"),
        ("postgresql://u:p@db-host:5433/motorpool", "postgresql+psycopg://u:p@db-host:5433/motorpool"),
        ("postgresql+psycopg://u@db-host/motorpool", "postgresql+psycopg://u@db-host/motorpool"),
        ("sqlite:////var/lib/motorpool.db", "sqlite:////var/lib/motorpool.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg3(given, expected):
    assert settings.normalise_database_url(given) == expected


def test_database_url_from_the_environment_is_honoured(database_url, instance_dir, monkeypatch):
    """The test database's URL, given through DATABASE_URL as hosting platforms write it."""
    env_urls = [database_url]
    if database_url.startswith("postgresql+psycopg://"):
        rest = database_url.removeprefix("postgresql+psycopg://")
        env_urls += ["postgres://" + rest, "postgresql://" + rest]
    for env_url in env_urls:
        monkeypatch.setenv("DATABASE_URL", env_url)
        app = create_app({"TESTING": True, "SECRET_KEY": "x"})
        try:
            assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url, env_url
            with app.app_context():
                assert db.session.execute(text("SELECT 1")).scalar() == 1
                assert db.engine.url.render_as_string(hide_password=False) == database_url
                if database_url.startswith("postgresql"):
                    assert db.engine.dialect.driver == "psycopg"
        finally:
            dispose(app)


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(instance_dir, tmp_path):
    app = create_app(sqlite_config(tmp_path, SECRET_KEY="x"))
    try:
        with app.app_context():
            assert event.contains(db.engine, "connect", _sqlite_pragmas)
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                # foreign_keys=ON is really enforced
                connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                connection.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))")
                with pytest.raises(Exception, match="FOREIGN KEY"):
                    connection.exec_driver_sql("INSERT INTO child (parent_id) VALUES (42)")
    finally:
        dispose(app)


def test_postgresql_engine_gets_no_sqlite_pragmas(database_url, make_app):
    app = make_app()
    with app.app_context():
        is_sqlite = db.engine.dialect.name == "sqlite"
        assert event.contains(db.engine, "connect", _sqlite_pragmas) is is_sqlite
        assert db.session.execute(text("SELECT 1")).scalar() == 1


# --- sign-in and sign-out --------------------------------------------------------------------


def test_login_page_renders(client, app):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert 'name="email"' in html(response) and 'name="password"' in html(response)


def test_login_with_the_right_password_signs_in_and_logout_signs_out(app, client):
    manager = ManagerFactory(name="Morgan Manager")
    response = login(client, manager)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    home = client.get("/")
    assert home.status_code == 200
    assert "Morgan Manager" in html(home)

    # logging in again while signed in just goes home
    assert client.get("/auth/login").headers["Location"] == "/"

    # logout is a POST: a GET (e.g. a link or an <img> on another site) does not sign out
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200

    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    assert client.get("/").status_code == 302
    assert "You are signed out." in html(client.get("/auth/login"))


def test_login_email_is_case_insensitive(app, client):
    manager = ManagerFactory(email="morgan@example.com")
    response = client.post("/auth/login", data={"email": "Morgan@Example.com", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert manager.id is not None


@pytest.mark.parametrize(
    "email, password",
    [("right", "wrong password"), ("nobody@example.com", DEFAULT_PASSWORD), ("right", "")],
)
def test_wrong_credentials_answer_422_with_a_message_that_does_not_say_which(app, client, email, password):
    manager = ManagerFactory()
    response = client.post(
        "/auth/login", data={"email": manager.email if email == "right" else email, "password": password}
    )
    assert response.status_code == 422
    body = html(response)
    if password:
        assert "Email or password is wrong. Check both and try again." in body
    else:
        assert "This field is required." in body
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in(app, client):
    technician = TechnicianFactory(is_active_user=False)
    response = login(client, technician)
    assert response.status_code == 422
    assert client.get("/").status_code == 302


def test_deactivated_user_is_signed_out_on_the_next_request(app, client, session):
    technician = TechnicianFactory()
    login(client, technician)
    assert client.get("/").status_code == 200
    technician.is_active_user = False
    session.commit()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["/dispatches/", "/dispatches/?status=Created&page=2"])
def test_next_redirects_to_a_path_on_this_site(app, client, target):
    manager = ManagerFactory()
    response = client.post(f"/auth/login?next={quote(target)}", data={"email": manager.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/",
        "https://evil.example/dispatches/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "dispatches/",
    ],
)
def test_next_never_redirects_to_another_host(app, client, target):
    manager = ManagerFactory()
    response = client.post(f"/auth/login?next={quote(target)}", data={"email": manager.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == "" and parts.netloc == ""
    assert location.startswith("/")
    assert not location.startswith("//") and not location.startswith("/\\")
    assert "evil.example" not in location or location.startswith("/%5C")


@pytest.mark.parametrize("path", ["/", "/dispatches/", "/dispatches/?status=Created"])
def test_anonymous_users_are_sent_to_the_login_page(app, client, path):
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert f"next={quote(path, safe='')}" in location.query or f"next={quote(path)}" in location.query

    # ... and come back where they wanted to go after signing in.
    manager = ManagerFactory()
    back = client.post(response.headers["Location"], data={"email": manager.email, "password": DEFAULT_PASSWORD})
    assert back.headers["Location"] == path


def test_healthz_answers_ok_without_signing_in(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"]["ok"] is True


# --- pages per role ----------------------------------------------------------------------------


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@contextmanager
def as_user(user):
    with acting_as(user):
        yield


def make_dispatch(title: str, status: str = "Created", technician=None, asset=None, by=None) -> Dispatch:
    dispatch = DispatchFactory(title=title, **({"asset": asset} if asset is not None else {}))
    if status == "Created":
        return dispatch
    with as_user(by):
        if status == "Cancelled":
            dispatches.change_status(dispatch, "Cancelled", "Not needed")
            return dispatch
        dispatches.assign(dispatch, technician)
        for step in {"Assigned": [], "En Route": ["En Route"], "In Progress": ["In Progress"],
                     "Completed": ["In Progress", "Completed"]}[status]:
            dispatches.change_status(dispatch, step)
    return dispatch


def test_technician_home_lists_only_their_open_work(app, client, manager):
    tess = TechnicianFactory(name="Tess Technician")
    otto = TechnicianFactory(name="Otto Other")
    asset = AssetFactory(asset_tag="TRK-0042")
    make_dispatch("Job assigned to Tess", "Assigned", tess, asset=asset, by=manager)
    make_dispatch("Job en route for Tess", "En Route", tess, by=manager)
    make_dispatch("Job in progress for Tess", "In Progress", tess, by=manager)
    make_dispatch("Job completed by Tess", "Completed", tess, by=manager)
    make_dispatch("Job assigned to Otto", "Assigned", otto, by=manager)
    make_dispatch("Job nobody has", "Created")
    make_dispatch("Job cancelled", "Cancelled", by=manager)

    login(client, tess)
    body = html(client.get("/"))

    assert "<h1>My work</h1>" in body
    for title in ("Job assigned to Tess", "Job en route for Tess", "Job in progress for Tess"):
        assert title in body
    for title in ("Job completed by Tess", "Job assigned to Otto", "Job nobody has", "Job cancelled"):
        assert title not in body
    assert "TRK-0042" in body
    assert "Fleet overview" not in body and "Administration" not in body


def test_technician_home_says_when_there_is_nothing_to_do(app, client, manager):
    tess = TechnicianFactory()
    make_dispatch("Job for nobody", "Created")
    login(client, tess)
    body = html(client.get("/"))
    assert "Nothing assigned to you right now." in body
    assert "Job for nobody" not in body


def status_counts_in(body: str) -> dict[str, int]:
    cards = r'<a class="stat-card" [^>]*><strong>(\d+)</strong> <span class="badge[^"]*">([A-Za-z ]+)</span></a>'
    return {status: int(count) for count, status in re.findall(cards, body)}


def test_manager_home_shows_counts_per_status(app, client, manager):
    tess = TechnicianFactory()
    make_dispatch("Job one", "Created")
    make_dispatch("Job two", "Created")
    make_dispatch("Job three", "Assigned", tess, by=manager)
    make_dispatch("Job four", "In Progress", tess, by=manager)
    make_dispatch("Job five", "Completed", tess, by=manager)
    make_dispatch("Job six", "Completed", tess, by=manager)
    make_dispatch("Job seven", "Completed", tess, by=manager)
    make_dispatch("Job eight", "Cancelled", by=manager)

    login(client, manager)
    body = html(client.get("/"))

    assert "<h1>Fleet overview</h1>" in body
    assert status_counts_in(body) == {
        "Created": 2, "Assigned": 1, "En Route": 0, "In Progress": 1, "Completed": 3, "Cancelled": 1,
    }
    assert "/dispatches/?status=Completed" in body
    assert "Administration" not in body and "My work" not in body


def test_admin_home_shows_totals_counts_and_plugins(app, client):
    admin = AdminFactory(name="Avery Admin")
    ManagerFactory()
    TechnicianFactory()
    manager = ManagerFactory()
    make_dispatch("Job one", "Created")  # also creates an asset and its type
    make_dispatch("Job two", "Cancelled", by=manager)
    from app.services.actors import system_user

    system_user()
    db.session.commit()

    login(client, admin)
    body = html(client.get("/"))

    assert "<h1>Administration</h1>" in body
    assert "<strong>4</strong> users" in body  # the system user is not counted
    assert "<strong>2</strong> assets" in body
    assert "<strong>2</strong> asset types" in body
    assert status_counts_in(body)["Created"] == 1 and status_counts_in(body)["Cancelled"] == 1
    assert "<h2>Plugins</h2>" in body
    row = re.search(r"<tr><td>app\.plugins\.builtin\.checklists</td>(.*?)</tr>", body)
    assert row, "the built-in checklist plugin is listed"
    assert "<td>built in</td>" in row.group(1) and "<td>yes</td>" in row.group(1)


# --- the dispatch list -------------------------------------------------------------------------


def test_technicians_see_only_their_own_dispatches_managers_see_all(app, client, manager):
    tess = TechnicianFactory(name="Tess Technician")
    otto = TechnicianFactory(name="Otto Other")
    make_dispatch("Job for Tess", "Assigned", tess, by=manager)
    make_dispatch("Job done by Tess", "Completed", tess, by=manager)
    make_dispatch("Job for Otto", "Assigned", otto, by=manager)
    make_dispatch("Job unassigned", "Created")

    login(client, tess)
    # technicians do not get the manager's list: they get My work
    response = client.get("/dispatches/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dispatches/mine")
    body = html(client.get("/dispatches/mine"))
    assert "<h1>My work</h1>" in body
    assert "Job for Tess" in body and "Job done by Tess" in body  # their recent history too
    assert "Job for Otto" not in body and "Job unassigned" not in body
    client.post("/auth/logout")

    login(client, manager)
    body = html(client.get("/dispatches/"))
    assert "<h1>Dispatches</h1>" in body
    for title in ("Job for Tess", "Job done by Tess", "Job for Otto", "Job unassigned"):
        assert title in body
    assert "4 dispatches" in body


def test_status_filter(app, client, manager):
    tess = TechnicianFactory()
    make_dispatch("Job created", "Created")
    make_dispatch("Job assigned A", "Assigned", tess, by=manager)
    make_dispatch("Job assigned B", "Assigned", tess, by=manager)
    make_dispatch("Job in progress", "In Progress", tess, by=manager)
    login(client, manager)

    body = html(client.get("/dispatches/?status=Assigned"))
    assert "2 dispatches with status Assigned" in body
    assert "Job assigned A" in body and "Job assigned B" in body
    assert "Job created" not in body and "Job in progress" not in body
    assert '<option value="Assigned" selected>' in body

    body = html(client.get("/dispatches/?status=In+Progress"))
    assert "1 dispatch with status In Progress" in body and "Job in progress" in body
    assert "Job assigned A" not in body

    body = html(client.get("/dispatches/?status=Completed"))
    assert "0 dispatches" in body and "No dispatches." in body

    # an unknown status is ignored rather than failing
    response = client.get("/dispatches/?status=Bogus")
    assert response.status_code == 200
    assert "4 dispatches" in html(response)


def test_pagination(make_app):
    app = make_app(DISPATCHES_PER_PAGE=3)
    with app.app_context():
        manager = ManagerFactory()
        asset = AssetFactory()
        created = [DispatchFactory(title=f"Job {n:02d}", asset=asset).title for n in range(1, 8)]
        email = manager.email
    newest_first = list(reversed(created))
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD})

    def page(number):
        body = html(client.get(f"/dispatches/?page={number}"))
        return [t for t in re.findall(r'<td><span class="long-text">(Job \d\d)</span>', body)], body

    titles, body = page(1)
    assert titles == newest_first[:3]
    assert "Page 1 of 3" in body and 'rel="next"' in body and 'rel="prev"' not in body
    assert "7 dispatches" in body
    titles, body = page(2)
    assert titles == newest_first[3:6]
    assert 'rel="next"' in body and 'rel="prev"' in body
    titles, body = page(3)
    assert titles == newest_first[6:]
    assert "Page 3 of 3" in body and 'rel="next"' not in body
    # a page number that is not one is refused with a message, never a 500
    for nonsense in ("0", "-4", "abc", "99999999999999999999", "%C2%B2", "03"):
        refused = client.get(f"/dispatches/?page={nonsense}")
        assert refused.status_code == 400 and "must be a whole number from 1" in html(refused)
    assert page(99)[0] == newest_first[6:]  # past the end: the last page

    # the filter is kept in the page links
    body = html(client.get("/dispatches/?status=Created&page=1"))
    assert "status=Created" in re.search(r'href="([^"]*)" rel="next"', body).group(1)


def test_htmx_request_gets_only_the_table_fragment(app, client, manager):
    make_dispatch("Job in the fragment", "Created")
    login(client, manager)

    full = client.get("/dispatches/")
    fragment = client.get("/dispatches/", headers={"HX-Request": "true"})

    assert full.status_code == fragment.status_code == 200
    assert "<html" in html(full) and "<nav" in html(full)
    body = html(fragment).strip()
    assert body.startswith('<div id="dispatch-table">') and body.endswith("</div>")
    assert "<html" not in body and "<head" not in body and 'aria-label="Main"' not in body
    assert "Job in the fragment" in body
    # caches must keep the two apart
    for response in (full, fragment):
        assert "HX-Request" in response.vary


def test_user_controlled_values_are_escaped(app, client, manager):
    tess = TechnicianFactory(name='<img src=x onerror="alert(2)">Tess')
    make_dispatch('<script>alert("title")</script>', "Assigned", tess, by=manager)

    login(client, manager)
    body = html(client.get("/dispatches/"))
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "&lt;img src=x" in body
    client.post("/auth/logout")

    login(client, tess)
    for path in ("/", "/dispatches/mine"):
        body = html(client.get(path))
        assert "<script>alert" not in body and "&lt;script&gt;" in body
        assert "<img src=x" not in body and "&lt;img src=x" in body  # their own name in the top bar


# --- headers, cookies, CSRF ------------------------------------------------------------------------


def assert_security_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_security_headers_on_every_response(app, client, manager):
    responses = {
        "login page": client.get("/auth/login"),
        "redirect to login": client.get("/"),
        "not found": client.get("/no-such-page"),
        "method not allowed": client.get("/auth/logout"),
        "failed login": client.post("/auth/login", data={"email": manager.email, "password": "nope nope"}),
        "health check": client.get("/healthz"),
        "static file": client.get("/static/css/app.css"),
    }
    login(client, manager)
    responses["home"] = client.get("/")
    responses["dispatch list"] = client.get("/dispatches/")
    responses["fragment"] = client.get("/dispatches/", headers={"HX-Request": "true"})
    responses["logout"] = client.post("/auth/logout")

    assert responses["not found"].status_code == 404
    assert responses["static file"].status_code == 200
    for name, response in responses.items():
        try:
            assert_security_headers(response)
        finally:
            response.close()


def test_error_pages_are_friendly_and_escaped(app, client):
    response = client.get("/no-such-page/<b>x</b>")
    assert response.status_code == 404
    assert "Not found" in html(response)
    assert "<b>x</b>" not in html(response)


def test_session_cookie_is_httponly_and_samesite_lax(app, client, manager):
    response = login(client, manager)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "signing in sets the session cookie"
    attributes = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def csrf_token_from(body: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body) or re.search(
        r'name="csrf_token" value="([^"]+)"', body
    )
    assert match, "the page carries a CSRF token"
    return match.group(1)


def test_csrf_protects_login_and_logout(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        manager = ManagerFactory()
        email = manager.email
    client = app.test_client()

    refused = client.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 400
    assert "The form had expired or was sent from elsewhere. Reload the page and try again." in html(refused)
    assert_security_headers(refused)
    assert client.get("/").status_code == 302  # not signed in

    bad_token = client.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": "forged"})
    assert bad_token.status_code == 400

    token = csrf_token_from(html(client.get("/auth/login")))
    accepted = client.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302
    assert client.get("/").status_code == 200

    # signing out needs the token too, so another site cannot sign people out
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/").status_code == 200
    token = csrf_token_from(html(client.get("/")))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


# --- query counts --------------------------------------------------------------------------------



def add_dispatches(count: int, manager) -> None:
    """Dispatches with their own asset, asset type and technician each, so lazy loads would show."""
    for n in range(count):
        dispatch = DispatchFactory(title=f"Counted job {n}")
        if n % 2 == 0:
            with as_user(manager):
                dispatches.assign(dispatch, TechnicianFactory())


@pytest.mark.parametrize("status", [None, "Assigned"])
def test_dispatch_list_query_count_does_not_grow_with_the_number_of_dispatches(app, client, manager, status):
    assert app.config["DISPATCHES_PER_PAGE"] == 50
    path = "/dispatches/" + (f"?status={status}" if status else "")
    login(client, manager)

    add_dispatches(5, manager)
    with counting_queries() as few:
        small = client.get(path)
    assert small.status_code == 200
    assert len(re.findall(r"Counted job \d+", html(small))) == (5 if status is None else 3)

    add_dispatches(55, manager)
    with counting_queries() as many:
        large = client.get(path)
    assert large.status_code == 200
    assert len(re.findall(r"Counted job \d+", html(large))) == (50 if status is None else 31)
    # the technician of every assigned row is on the page
    assert len(set(re.findall(r"<td>User \d+</td>", html(large)))) == (25 if status is None else 31)

    assert len(many) == len(few), "\n".join(many)
    # six for the list (session, count, page, and the technician, asset type and location filter
    # options); the navigation's bell (unread count) and firing-alert count
    assert len(few) <= 8


def test_home_page_query_count_does_not_grow_with_the_number_of_dispatches(app, client, manager):
    tess = TechnicianFactory()
    login(client, tess)

    def add(count):
        for _ in range(count):
            dispatch = DispatchFactory(asset=AssetFactory())
            with as_user(manager):
                dispatches.assign(dispatch, tess)

    add(2)
    with counting_queries() as few:
        assert client.get("/").status_code == 200
    add(20)
    with counting_queries() as many:
        body = html(client.get("/"))
    assert body.count("<li class=\"priority-") == 22
    assert len(many) == len(few)


# --- logging -------------------------------------------------------------------------------------


def test_passwords_never_reach_the_logs(app, client, caplog):
    manager = ManagerFactory(email="morgan@example.com")
    secret = DEFAULT_PASSWORD
    wrong = "wrong-but-secret-password-123"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG, logger="werkzeug")

    client.post("/auth/login", data={"email": manager.email, "password": wrong})
    client.post("/auth/login", data={"email": "nobody@example.com", "password": wrong})
    client.post("/auth/login", data={"email": manager.email, "password": secret})
    client.get("/")

    # The capture works: the SQL (with its parameters) of the sign-in was logged ...
    logged = [record.getMessage() + " " + repr(record.args) for record in caplog.records]
    assert any("morgan@example.com" in line for line in logged), "SQL parameters were captured"
    # ... and no password is in any of it.
    for line in logged:
        assert secret not in line
        assert wrong not in line


def test_unexpected_errors_are_logged_and_answered_with_a_500_page(app, client, manager, caplog, monkeypatch):
    from app.services import queries

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(queries, "dispatch_list", broken)
    login(client, manager)
    with caplog.at_level(logging.ERROR):
        response = client.get("/dispatches/")
    assert response.status_code == 500
    assert "nothing was saved" in html(response)
    assert "database on fire" not in html(response)  # internals are not shown to the user
    assert any("database on fire" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
    assert_security_headers(response)
