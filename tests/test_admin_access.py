"""Only admins reach the admin pages: others get 403, anonymous visitors go to sign-in."""

from __future__ import annotations

import pytest
from flask import url_for

from tests.admin_support import html
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every admin route, with placeholder ids."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin."):
                continue
            values = {arg: ("asset-types" if arg == "kind" else 1) for arg in rule.arguments}
            url = url_for(rule.endpoint, **values)
            routes += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_every_admin_route_is_listed(app):
    routes = admin_routes(app)
    assert ("GET", "/admin/") in routes and ("POST", "/admin/plugins") in routes
    assert len(routes) >= 30


@pytest.mark.parametrize("factory", [ManagerFactory, TechnicianFactory], ids=["manager", "technician"])
def test_managers_and_technicians_get_403_everywhere(app, client, auth, factory):
    auth.login(factory())
    for method, url in admin_routes(app):
        response = client.open(url, method=method, data={"active": "0", "name": "x", "enabled": "0"})
        assert response.status_code == 403, (method, url)


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    for method, url in admin_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert "/auth/login" in response.headers["Location"]


def test_the_index_links_to_every_admin_page(app, client, auth):
    auth.login(AdminFactory())
    page = html(client.get("/admin/"))
    for path in ("/admin/asset-types", "/admin/make-models", "/admin/assets", "/admin/locations", "/admin/users",
                 "/admin/technicians", "/admin/plugins"):
        assert f'href="{path}"' in page
        assert client.get(path).status_code == 200


def test_admin_pages_have_no_inline_script_style_or_handlers(app, client, auth):
    auth.login(AdminFactory())
    for method, url in admin_routes(app):
        if method != "GET" or "/1/" in url:
            continue
        page = html(client.get(url))
        assert "style=" not in page and "onclick" not in page.lower(), url
        assert "<script>" not in page, url
        for form_start in page.split("<form")[1:]:
            form = form_start.split("</form>")[0]
            if 'method="post"' in form:
                assert 'name="csrf_token"' in form, (url, form[:200])


def test_a_post_without_csrf_token_is_refused(make_app):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AssetType

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        email = AdminFactory().email
    client = app.test_client()
    with app.app_context():
        login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/asset-types/new", data={"name": "Crane"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AssetType)) == 0
    # the form's own token is accepted
    page = client.get("/admin/asset-types/new").get_data(as_text=True)
    form_token = page.split('<form method="post"', 1)[1].split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/admin/asset-types/new", data={"name": "Crane", "csrf_token": form_token})
    assert response.status_code == 302
