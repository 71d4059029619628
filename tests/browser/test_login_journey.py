"""A manager signs in through the real form, finds the dispatch list, filters it and signs
out — on a phone and on a desktop; and the page's scripts come from the app itself."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.support import both_sizes, horizontal_overflow, main_nav, sign_in, sign_out


def _fleet(live_data):
    manager = live_data.manager(name="Morgan Manager")
    technician = live_data.technician(name="Tess Technician")
    truck = live_data.asset(asset_tag="TRK-0100", name="Volvo FH16 #100")
    waiting = live_data.dispatch(truck, title="Replace brake pads")
    working = live_data.dispatch(truck, title="Check tyre pressures", status="In Progress", technician=technician)
    cancelled = live_data.dispatch(truck, title="Tow to North Depot", status="Cancelled")
    return manager, waiting, working, cancelled


@both_sizes
def test_manager_signs_in_filters_the_dispatch_list_and_signs_out(page, live_data, shot):
    manager, waiting, working, cancelled = _fleet(live_data)

    page.goto("/dispatches/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")

    page.get_by_label("Email").fill(manager.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong")
    shot(page, "wrong-password")

    page.get_by_label("Password").fill(manager.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dispatches/$"))  # back where the manager was going
    expect(page.get_by_role("heading", name="Dispatches", level=1)).to_be_visible()
    rows = page.get_by_role("row")
    for dispatch in (waiting, working, cancelled):
        expect(rows.filter(has_text=dispatch.title)).to_have_count(1)
        expect(rows.filter(has_text=dispatch.title)).to_contain_text(dispatch.number)
    expect(rows.filter(has_text=working.title)).to_contain_text("Tess Technician")
    assert horizontal_overflow(page) == 0, "the dispatch list scrolls sideways as a whole page"
    shot(page, "dispatch-list")

    status = page.get_by_label("Status", exact=True)
    status.select_option("Cancelled")  # the list follows the filter as it changes
    expect(page).to_have_url(re.compile(r"status=Cancelled"))
    expect(rows.filter(has_text=cancelled.title)).to_have_count(1)
    expect(rows.filter(has_text=waiting.title)).to_have_count(0)
    expect(rows.filter(has_text=working.title)).to_have_count(0)
    shot(page, "filtered-cancelled")

    page.reload()  # the filtered address stands on its own
    expect(page.get_by_label("Status", exact=True)).to_have_value("Cancelled")
    expect(rows.filter(has_text=cancelled.title)).to_have_count(1)
    expect(rows.filter(has_text=waiting.title)).to_have_count(0)

    status.select_option("")
    page.get_by_role("searchbox", name="Search").press_sequentially("brake")  # typed, key by key
    expect(rows.filter(has_text=waiting.title)).to_have_count(1)
    expect(rows.filter(has_text=cancelled.title)).to_have_count(0)
    expect(rows.filter(has_text=working.title)).to_have_count(0)
    shot(page, "searched-brake")

    main_nav(page).get_by_role("link", name="Home").click()
    main_nav(page).get_by_role("link", name="Dispatches").click()
    expect(page).to_have_url(re.compile(r"/dispatches/$"))
    expect(rows.filter(has_text=waiting.title)).to_have_count(1)

    sign_out(page)
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    shot(page, "signed-out")

    page.goto("/dispatches/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    expect(page.get_by_text(waiting.title)).to_have_count(0)


def test_scripts_come_from_the_app_and_htmx_sends_the_csrf_token(page, live_server, live_data, page_watch, shot):
    manager, waiting, _working, _cancelled = _fleet(live_data)
    statuses: dict[str, int] = {}  # the first response per path (later ones may be 304)
    page.on("response", lambda response: statuses.setdefault(urlsplit(response.url).path, response.status))

    response = page.goto("/auth/login")
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "default-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    assert response.headers.get("x-frame-options") == "DENY"

    sign_in(page, manager)
    page.goto("/dispatches/")
    expect(page.get_by_role("row").filter(has_text=waiting.title)).to_have_count(1)
    assert statuses.get("/static/vendor/htmx/htmx.min.js") == 200
    assert page.evaluate("() => window.htmx ? htmx.version : null").startswith("2.")
    shot(page, "dispatch-list-with-htmx")

    # CSRF protection is on in the live server: a POST without the token is refused ...
    refused = page.context.request.post(live_server.absolute("/auth/logout"), max_redirects=0)
    assert refused.status == 400
    # ... and htmx sends the token from <body hx-headers> with its requests.
    with page.expect_response(lambda r: urlsplit(r.url).path == "/auth/logout") as sent:
        page.evaluate("() => htmx.ajax('POST', '/auth/logout', {source: document.body, target: '#main'})")
    assert sent.value.request.header_value("x-csrftoken")
    assert sent.value.status == 302
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # the login form, swapped in
    shot(page, "signed-out-by-htmx")
    page.goto("/dispatches/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))

    hosts = {urlsplit(url).hostname for url in page_watch.requests}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {page_watch.foreign_requests()}"
