"""The interface's conventions (docs/ui.md): badges, icons, map links, the work-order page's
sections, the print view and the manager's home. The browser tests look at the same pages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.blueprints.maps import map_url
from app.extensions import db
from app.models import DispatchStatus, utcnow
from app.services import attention
from app.services import checklists as checklist_service
from tests.dispatch_pages_support import counting_queries, html, login, make_dispatch
from tests.factories import (
    AssetFactory,
    DispatchFactory,
    MajorLocationFactory,
    ManagerFactory,
    TechnicianFactory,
    configured_truck_type,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
APP_CSS = ROOT / "app" / "static" / "css" / "app.css"
SPRITE = ROOT / "app" / "static" / "vendor" / "lucide" / "sprite.svg"


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


# --- colours and icons ---------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_known_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


def test_every_badge_colour_pair_meets_wcag_aa():
    tokens = dict(re.findall(r"--(badge-[a-z-]+-(?:fg|bg)):\s*(#[0-9a-fA-F]{6})", APP_CSS.read_text()))
    names = {key[: -len("-fg")] for key in tokens if key.endswith("-fg")}
    statuses = {f"badge-{status.value.lower().replace(' ', '-')}" for status in DispatchStatus}
    assert statuses | {"badge-low", "badge-normal", "badge-high", "badge-critical"} <= names
    for name in sorted(names):
        ratio = contrast(tokens[f"{name}-fg"], tokens[f"{name}-bg"])
        assert ratio >= 4.5, f"{name}: contrast {ratio:.2f} is below 4.5:1"


def _icons_in_templates() -> set[str]:
    text = "\n".join(path.read_text() for path in TEMPLATES.rglob("*.html"))
    named = set(re.findall(r"""icon\(\s*['"]([a-z0-9-]+)['"]""", text))
    named |= set(re.findall(r"""icon\(\s*'[a-z0-9-]+' if [^)]* else '([a-z0-9-]+)'""", text))
    named |= set(re.findall(r"""icon\(\s*'([a-z0-9-]+)' if""", text))
    nav = re.search(r"nav_icons = \{(.*?)\}", (TEMPLATES / "base.html").read_text(), re.S)
    named |= set(re.findall(r""":\s*"([a-z0-9-]+)\"""", nav.group(1)))
    return named


def test_the_sprite_holds_exactly_the_icons_the_templates_use():
    symbols = set(re.findall(r'<symbol id="([a-z0-9-]+)"', SPRITE.read_text()))
    used = _icons_in_templates()
    assert used - symbols == set(), "icons used but missing from the sprite: run `make vendor`"
    assert symbols - used == set(), "icons in the sprite that no template uses"


def test_icons_are_hidden_from_screen_readers_and_served_from_the_app(app, client, manager):
    login(client, manager)
    body = html(client.get("/"))
    icons = re.findall(r"<svg class=\"icon[^\"]*\"([^>]*)><use href=\"([^\"]+)\"", body)
    assert icons, "the home page draws icons"
    for attributes, href in icons:
        assert 'aria-hidden="true"' in attributes
        assert href.startswith("/static/vendor/lucide/sprite.svg?v=")
    with client.get(icons[0][1].split("#")[0]) as sprite:  # a file response: closed after use
        assert sprite.status_code == 200 and sprite.mimetype == "image/svg+xml"
        assert '<symbol id="house"' in sprite.get_data(as_text=True)


# --- map links -------------------------------------------------------------------------------------


def location(**fields):
    values = {"name": "North Depot", "address": "1 Yard Road, Leeds", "latitude": None, "longitude": None}
    return SimpleNamespace(**{**values, **fields})


def test_map_url_with_coordinates_is_a_geo_uri_with_the_name_as_label():
    url = map_url(location(latitude=53.8008, longitude=-1.5491, name="North Depot (yard 2)"))
    assert url == "geo:53.8008,-1.5491?q=53.8008,-1.5491(North%20Depot%20%28yard%202%29)"
    assert map_url(location(latitude=0.0, longitude=10.0)) == "geo:0,10?q=0,10(North%20Depot)"


def test_map_url_without_coordinates_searches_the_address_on_openstreetmap():
    url = map_url(location(address="1 Yard Road, Leeds & Co"))
    assert url == "https://www.openstreetmap.org/search?query=1+Yard+Road%2C+Leeds+%26+Co"


def test_map_url_is_none_when_there_is_nothing_to_find():
    assert map_url(location(address="  ")) is None
    assert map_url(location(address=None)) is None
    assert map_url(None) is None


def test_technician_cards_and_work_order_link_the_address_to_the_map(app, client, manager):
    tess = TechnicianFactory()
    depot = MajorLocationFactory(name="North Depot", address="1 Yard Road", latitude=53.8, longitude=-1.55)
    street = MajorLocationFactory(name="Street job", address="5 Mill Lane, Leeds", latitude=None, longitude=None)
    located = make_dispatch("Job at the depot", "Assigned", tess, by=manager, asset=AssetFactory(major_location=depot))
    make_dispatch("Job in the street", "Assigned", tess, by=manager, asset=AssetFactory(major_location=street))
    login(client, tess)
    geo = 'href="geo:53.8,-1.55?q=53.8,-1.55(North%20Depot)"'
    osm = 'href="https://www.openstreetmap.org/search?query=5+Mill+Lane%2C+Leeds"'
    for path in ("/", "/dispatches/mine"):
        body = html(client.get(path))
        assert geo in body and osm in body, path
    assert geo in html(client.get(f"/dispatches/{located.id}"))


# --- badges ----------------------------------------------------------------------------------------


def test_status_and_priority_are_badges_with_text_on_every_page_that_shows_them(app, client, manager):
    tess = TechnicianFactory()
    job = make_dispatch("Job urgent", "En Route", tess, by=manager, priority="Critical")
    status = '<span class="badge badge-status badge-status-en-route">En Route</span>'
    priority = re.compile(r'<span class="badge badge-priority badge-priority-critical">.*?Critical</span>', re.S)
    login(client, manager)
    for path in ("/dispatches/", f"/dispatches/{job.id}", f"/dispatches/{job.id}/print"):
        body = html(client.get(path))
        assert status in body and priority.search(body), path
    assert '<span class="badge badge-status badge-status-en-route">En Route</span>' in html(client.get("/"))
    client.post("/auth/logout")
    login(client, tess)
    for path in ("/", "/dispatches/mine", f"/dispatches/{job.id}"):
        body = html(client.get(path))
        assert status in body and priority.search(body), path


# --- the work-order page ------------------------------------------------------------------------


def section_headings(body: str) -> list[str]:
    headings = re.findall(r'<section class="card[^"]*" aria-labelledby="[^"]+">\s*<h2 id="[^"]+">(.*?)</h2>', body, re.S)
    return [re.sub(r"<[^>]+>", "", heading).strip() for heading in headings]


def test_manager_sections_come_in_the_order_a_manager_needs(app, client, manager):
    job = make_dispatch("Job open", "Assigned", TechnicianFactory(), by=manager)
    login(client, manager)
    assert section_headings(html(client.get(f"/dispatches/{job.id}"))) == [
        "Status", "Assignment", "Checklists", "Details", "History"]


def test_technician_sees_the_next_step_then_checklists_and_no_assignment(app, client, manager):
    tess = TechnicianFactory()
    job = make_dispatch("Job open", "Assigned", tess, by=manager)
    login(client, tess)
    assert section_headings(html(client.get(f"/dispatches/{job.id}"))) == [
        "Next step", "Checklists", "Details", "History"]


def test_a_cancelled_unassigned_order_shows_no_empty_assignment_card(app, client, manager):
    job = make_dispatch("Job never assigned", "Cancelled", by=manager)
    login(client, manager)
    body = html(client.get(f"/dispatches/{job.id}"))
    assert "Assignment" not in section_headings(body) and 'id="assignment-heading"' not in body
    assert section_headings(body) == ["Status", "Checklists", "Details", "History"]


def test_an_open_unassigned_order_keeps_the_assignment_panel(app, client, manager):
    job = make_dispatch("Job waiting", by=manager)
    login(client, manager)
    assert "Assignment" in section_headings(html(client.get(f"/dispatches/{job.id}")))


def test_the_work_order_page_links_to_its_print_view(app, client, manager):
    job = make_dispatch("Job open", by=manager)
    login(client, manager)
    assert f'href="/dispatches/{job.id}/print"' in html(client.get(f"/dispatches/{job.id}"))


# --- the print view ----------------------------------------------------------------------------------


def test_print_view_shows_answers_and_blank_boxes_and_signature_lines(app, client, manager):
    tess = TechnicianFactory()
    depot = MajorLocationFactory(name="North Depot", address="1 Yard Road, Leeds")
    asset = AssetFactory(asset_tag="TRK-0100", asset_type=configured_truck_type(), major_location=depot)
    job = make_dispatch("Job printed", "In Progress", tess, by=manager, asset=asset, priority="High")
    checklist = checklist_service.checklists_for(job)[0]
    checklist_service.save_answer(checklist, "brakes_checked", "defect", seen="", actor=tess,
                                  description="Pedal goes to the floor")
    db.session.commit()
    login(client, tess)
    body = html(client.get(f"/dispatches/{job.id}/print"))
    assert job.dispatch_number in body and "Job printed" in body
    assert "TRK-0100" in body and asset.asset_type.name in body and asset.make_model.display_name in body
    assert "North Depot" in body and "1 Yard Road, Leeds" in body
    brakes = re.search(r"<th scope=\"row\">Brakes.*?</tr>", body, re.S).group(0)
    assert "Defect: Pedal goes to the floor" in brakes and "blank-box" not in brakes
    tires = re.search(r"<th scope=\"row\">Tires and wheels.*?</tr>", body, re.S).group(0)
    assert tires.count('class="blank-box"') == 2 and "not answered" in tires
    assert re.findall(r'<span class="signature-label">([^<]+)</span>', body) == [
        "Technician", "Driver / manager", "Date"]


def test_print_view_follows_the_work_order_page_access_rule(app, client, manager):
    job = make_dispatch("Job private", "Assigned", TechnicianFactory(), by=manager)
    login(client, TechnicianFactory())
    response = client.get(f"/dispatches/{job.id}/print")
    assert response.status_code == 404 and "Job private" not in html(response)


# --- the manager's home -----------------------------------------------------------------------------


def test_overdue_and_unassigned_lists_oldest_first_at_most_five(app, client, manager):
    tess = TechnicianFactory()
    now = utcnow()
    overdue = []
    for hours in (1, 7, 3, 5, 2, 6):
        job = make_dispatch(f"Job late {hours} h", "Assigned", tess, by=manager)
        job.sla_due_at = now - timedelta(hours=hours)  # as time passing would
        overdue.append(job)
    done = make_dispatch("Job late but done", "Completed", tess, by=manager)
    done.sla_due_at = now - timedelta(hours=9)
    for hours in (3, 1, 2):
        DispatchFactory(title=f"Job waiting {hours}", created_date=now - timedelta(hours=hours))
    make_dispatch("Job cancelled unassigned", "Cancelled", by=manager)
    db.session.commit()

    late = attention.overdue_open(now=now)
    assert late.total == 6 and [d.title for d in late.items] == [
        "Job late 7 h", "Job late 6 h", "Job late 5 h", "Job late 3 h", "Job late 2 h"]
    unassigned = attention.unassigned_open()
    assert unassigned.total == 3
    assert [d.title for d in unassigned.items] == ["Job waiting 3", "Job waiting 2", "Job waiting 1"]

    login(client, manager)
    body = html(client.get("/"))
    assert "Job late 7 h" in body and "Job late 1 h" not in body  # five shown
    assert 'href="/dispatches/?due=overdue">All 6</a>' in body
    assert 'href="/dispatches/?status=Created&amp;technician=none">Show in the list</a>' in body
    # the links show the same dispatches the home page counted
    assert "6 dispatches" in html(client.get("/dispatches/?due=overdue"))
    assert "3 dispatches" in html(client.get("/dispatches/?status=Created&technician=none"))


def test_manager_home_says_when_nothing_needs_attention(app, client, manager):
    login(client, manager)
    body = html(client.get("/"))
    assert "Nothing is overdue." in body and "Every open order has a technician." in body


def test_manager_home_query_count_does_not_grow_with_the_data(app, client, manager):
    tess = TechnicianFactory()

    def add(count):
        for n in range(count):
            late = make_dispatch(f"Job late {n}", "Assigned", tess, by=manager, asset=AssetFactory())
            late.sla_due_at = utcnow() - timedelta(hours=1 + n)
            DispatchFactory(title=f"Job waiting {n}", asset=AssetFactory())
        db.session.commit()

    login(client, manager)
    add(1)
    with counting_queries() as few:
        assert client.get("/").status_code == 200
    add(12)
    with counting_queries() as many:
        body = html(client.get("/"))
    assert body.count('<ul class="short-list">') == 2
    assert len(many) == len(few)
