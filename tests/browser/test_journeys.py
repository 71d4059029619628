"""End-to-end journeys through the dispatch and checklist pages, in a real Chromium.

A manager plans a truck work order and assigns it; the technician works it on a phone,
reports a brake defect and completes it; the truck goes out of service until a manager
certifies the repair; an admin adds a model-specific checklist; two people edit the same
checklist at once. Then the phone-size layout, accessible names and keyboard use of the
checklist page. Every step leaves a screenshot under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.models import ChecklistDefect, Dispatch, User
from app.services import checklists as checklist_service
from app.services import detail_sets
from tests.browser.support import (
    AssetRef,
    DispatchRef,
    LiveServer,
    Person,
    horizontal_overflow,
    main_nav,
    sign_in,
    sign_out,
)
from tests.factories import (
    AssetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    SkillFactory,
    TechnicianProfileFactory,
    TechnicianSkillFactory,
    UserFactory,
)
from tests.matching_support import LEEDS, all_day_shift, km_east

TRUCK_CHECKLIST = "Truck dispatch checklist"
VEHICLE_DISPATCH = "Vehicle dispatch"
INSPECTIONS = ("Tires and wheels", "Lights and reflectors", "Brakes", "Fluid levels and leaks", "Safety equipment")
CHECKS = ("Cargo secured", "Weight distribution verified", "Load manifest verified", "Registration current",
          "Insurance current", "Permits obtained")
TECHNICIANS = (("Tess Near", 2, 4), ("Ravi Middle", 12, 3), ("Olga Further", 30, 5))  # name, km from depot, level


# --- the fleet --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    manager: Person
    admin: Person
    technicians: tuple[Person, ...]
    truck: AssetRef
    make_model_id: int
    make_model: str
    depot: str


def truck_fleet(live_server: LiveServer, *, model_addition: bool = True) -> Fleet:
    """A Truck type with the truck checklist, a Volvo FH16 model (adding the vehicle dispatch
    checklist unless ``model_addition`` is false), one truck of it at North Depot, and three
    diesel technicians at 2, 12 and 30 km from the depot, on shift now."""
    def person(user: User) -> Person:
        return Person(id=user.id, email=user.email, name=user.name, role=user.role)

    with live_server.database():
        skill = SkillFactory(name="Diesel engines", category="Mechanical")
        truck_type = AssetTypeFactory(name="Truck", default_skill=skill.name)
        detail_sets.add_type_to_asset_type(truck_type, "truck_checklist")
        model = MakeModelFactory(make="Volvo", model="FH16", asset_type=truck_type)
        if model_addition:
            detail_sets.add_type_to_make_model(model, "vehicle_dispatch")
        depot = MajorLocationFactory(name="North Depot", address="1 Yard Road, Leeds",
                                     latitude=LEEDS[0], longitude=LEEDS[1])
        truck = AssetFactory(asset_tag="TRK-0100", name="Volvo FH16 #100", asset_type=truck_type,
                             make_model=model, major_location=depot)
        technicians = []
        for name, km, level in TECHNICIANS:
            user = UserFactory(role="technician", name=name)
            latitude, longitude = km_east(km)
            profile = TechnicianProfileFactory(user=user, home_latitude=latitude, home_longitude=longitude,
                                               **all_day_shift())
            TechnicianSkillFactory(profile=profile, skill=skill, level=level)
            technicians.append(person(user))
        manager = person(UserFactory(role="manager", name="Morgan Manager"))
        admin = person(UserFactory(role="admin", name="Ada Admin"))
        return Fleet(manager=manager, admin=admin, technicians=tuple(technicians),
                     truck=AssetRef(id=truck.id, asset_tag=truck.asset_tag, name=truck.name, asset_type="Truck"),
                     make_model_id=model.id, make_model=model.display_name, depot=depot.name)


def checklist_ids(live_server: LiveServer, dispatch: DispatchRef) -> dict[str, int]:
    """The dispatch's checklists by label → the id their page is addressed by."""
    with live_server.database() as session:
        row = session.get(Dispatch, dispatch.id)
        return {checklist.label: checklist.id for checklist in checklist_service.checklists_for(row)}


def report_brake_defect(live_server: LiveServer, dispatch: DispatchRef, technician: Person) -> str:
    """The technician answers the truck checklist (brakes defective) and signs it off, as the
    checklist page would; returns the repair work order's number."""
    with live_server.database() as session:
        actor = session.get(User, technician.id)
        row = session.get(Dispatch, dispatch.id)
        checklist = next(c for c in checklist_service.checklists_for(row) if c.label == TRUCK_CHECKLIST)
        for item in list(checklist.items.values()):
            if not item.field.required:
                continue
            kind = item.field.kind
            raw = "true" if kind == "check" else ("defect" if item.field.name == "brakes_checked" else "ok")
            description = "Pedal goes to the floor" if raw == "defect" else None
            checklist_service.save_answer(checklist, item.field.name, raw, seen=item.display, actor=actor,
                                          description=description)
            checklist = checklist_service.get_checklist(checklist.id)
        repair = checklist_service.sign_off(checklist, actor)
        assert repair is not None, "signing off a defect opens a repair work order"
        return repair.dispatch_number


# --- page helpers -----------------------------------------------------------------------------------


def item_saved(page: Any, action, *, status: int = 200) -> Any:
    """Do ``action`` (answering one checklist item) and wait for the server's answer to it."""
    with page.expect_response(lambda r: r.request.method == "POST" and "/items/" in r.url) as answer:
        action()
    assert answer.value.status == status, f"{answer.value.url} answered {answer.value.status}, not {status}"
    # The answer is swapped in after it arrives: wait until htmx has settled, so the next
    # action works on the new item, not on the one being replaced.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    return answer.value


def progress(page: Any, text: str | re.Pattern[str]) -> None:
    """The checklist's progress text reads ``text`` (once the last answer has been swapped in)."""
    expect(page.get_by_role("progressbar").first).to_have_accessible_name(text)


def inspection(page: Any, label: str) -> Any:
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(label)}\b"))


def choose_asset(page: Any, search: str, asset: AssetRef) -> None:
    """Search the asset box key by key and choose the asset: the preview follows."""
    page.get_by_role("searchbox", name="Find an asset").press_sequentially(search)
    choice = page.get_by_label("Asset", exact=True)
    expect(choice.get_by_role("option")).to_have_count(2)  # "Choose an asset…" and the match
    with page.expect_response(lambda r: "/dispatches/new/preview" in r.url):
        choice.select_option(label=f"{asset.asset_tag} — {asset.name}")
    expect(page.get_by_role("heading", name="Before you save")).to_be_visible()


def new_work_order(page: Any, asset: AssetRef, title: str, *, priority: str = "Normal", description: str = "") -> None:
    main_nav(page).get_by_role("link", name="New work order").click()
    expect(page.get_by_role("heading", name="New work order", level=1)).to_be_visible()
    choose_asset(page, asset.asset_tag, asset)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Priority").select_option(priority)
    if description:
        page.get_by_label("Description").fill(description)


def wider_than_screen(page: Any) -> list[str]:
    """The outermost elements that reach past the right edge of the viewport."""
    return page.evaluate("""() => {
      const edge = document.documentElement.clientWidth + 0.5;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > edge);
      return wide.filter((el) => !wide.includes(el.parentElement)).slice(0, 5).map((el) =>
        `<${el.tagName.toLowerCase()}${el.className ? ' class=' + el.className : ''}> ` +
        `${Math.round(el.getBoundingClientRect().width)} px wide, right edge at ${Math.round(el.getBoundingClientRect().right)} px`);
    }""")


def checklist_links(page: Any) -> Any:
    return page.get_by_role("region", name="Checklists").get_by_role("link")


# --- 1. the manager plans a truck work order --------------------------------------------------------


def test_manager_creates_a_truck_work_order_and_assigns_it(page, live_server, shot):
    fleet = truck_fleet(live_server)
    _tess, ravi, _olga = fleet.technicians
    sign_in(page, fleet.manager)

    main_nav(page).get_by_role("link", name="New work order").click()
    expect(page.get_by_role("heading", name="New work order", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Before you save")).to_have_count(0)
    shot(page, "empty-form")

    choose_asset(page, "FH16", fleet.truck)
    preview = page.locator("#dispatch-preview")  # the live region the preview is swapped into
    planned = preview.get_by_role("list").filter(has_text=TRUCK_CHECKLIST).get_by_role("listitem")
    expect(planned).to_have_count(2)
    expect(planned.nth(0)).to_contain_text(f"{TRUCK_CHECKLIST} (from asset type Truck)")
    expect(planned.nth(1)).to_contain_text(f"{VEHICLE_DISPATCH} (from model {fleet.make_model})")
    expect(preview).to_contain_text("North Depot")
    expect(preview).to_contain_text("1 Yard Road, Leeds")
    expect(preview).to_contain_text(fleet.make_model)
    suggested = preview.get_by_role("list").filter(has_text="score").first.get_by_role("listitem")
    expect(suggested).to_have_count(3)
    for technician in fleet.technicians:
        expect(suggested.filter(has_text=technician.name)).to_contain_text(re.compile(r"score \d\.\d\d"))
    scores = [float(s) for s in re.findall(r"score (\d\.\d\d)", preview.get_by_role("list").filter(
        has_text="score").first.inner_text())]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True), f"best first: {scores}"
    suggested.first.get_by_text("Why").click()
    breakdown = suggested.first.get_by_role("table", name="Score breakdown")
    expect(breakdown.get_by_role("row", name=re.compile(r"^Skill \d"))).to_be_visible()
    expect(breakdown.get_by_role("row", name=re.compile(r"^Distance \d"))).to_be_visible()
    shot(page, "asset-chosen-preview")

    page.get_by_label("Title").fill("Deliver steel coils to Hull")
    page.get_by_label("Priority").select_option("High")
    page.get_by_label("Description").fill("Two coils, 18 t; dock 4 at the Hull terminal.")
    expect(page.get_by_role("heading", name="Before you save")).to_be_visible()  # still there after the refresh
    shot(page, "form-filled")
    page.get_by_role("button", name="Create work order").click()

    expect(page).to_have_url(re.compile(r"/dispatches/\d+$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Deliver steel coils to Hull")
    expect(page.get_by_role("status").filter(has_text="with 2 checklist(s)")).to_be_visible()
    expect(checklist_links(page)).to_have_text([TRUCK_CHECKLIST, VEHICLE_DISPATCH])
    facts = page.get_by_role("region", name="Details")
    expect(facts).to_contain_text("High")
    expect(facts).to_contain_text("Nobody yet")
    shot(page, "dispatch-created")

    assignment = page.get_by_role("region", name="Assignment")
    candidates = assignment.get_by_role("listitem").filter(has=page.get_by_role("button", name=re.compile("^Assign to")))
    expect(candidates).to_have_count(3)
    ravi_row = candidates.filter(has_text=ravi.name)
    ravi_row.get_by_text("Why").click()
    expect(ravi_row.get_by_role("table", name="Score breakdown")).to_be_visible()
    shot(page, "candidate-why")
    ravi_row.get_by_role("button", name=f"Assign to {ravi.name}").click()

    assignment = page.get_by_role("region", name="Assignment")  # swapped in place
    expect(assignment.get_by_role("heading", name=f"Why {ravi.name}")).to_be_visible()
    expect(assignment.get_by_role("table", name="Score breakdown").first.get_by_role("row", name=re.compile(r"^Skill \d"))) \
        .to_be_visible()
    expect(page.get_by_role("region", name="Details")).to_contain_text(ravi.name)
    expect(page.locator("#flashes")).to_contain_text(f"assigned to {ravi.name}")
    expect(page.get_by_role("region", name="Details")).to_contain_text(re.compile(r"Status\s*Assigned"))
    shot(page, "assigned")


# --- 2. the technician works it on a phone ----------------------------------------------------------


def test_technician_works_the_dispatch_on_a_phone_and_reports_a_defect(phone, desktop, live_server, live_data, shot):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", priority="High", status="Assigned", technician=tess)
    page = phone

    sign_in(page, tess)
    main_nav(page).get_by_role("link", name="My work").click()
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    card = page.get_by_role("article", name=job.title)
    expect(card).to_contain_text("Assigned")
    expect(card).to_contain_text(fleet.truck.asset_tag)
    expect(card.get_by_text("Checklists: 0 of 2 signed off")).to_be_visible()
    assert horizontal_overflow(page) == 0
    shot(page, "my-work")

    card.get_by_role("button", name="Start work").click()
    card = page.get_by_role("article", name=job.title)
    expect(card).to_contain_text("In Progress")
    expect(card.get_by_role("button", name="Start work")).to_have_count(0)
    shot(page, "started")

    card.get_by_role("link", name=job.title).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(job.title)
    shot(page, "dispatch-page")
    checklist_links(page).filter(has_text=TRUCK_CHECKLIST).click()
    expect(page.get_by_role("heading", name=TRUCK_CHECKLIST, level=1)).to_be_visible()
    progress(page, "0 of 11 required items answered")
    shot(page, "truck-checklist")

    answered = 0
    for label in INSPECTIONS:
        if label == "Brakes":
            continue
        item_saved(page, lambda label=label: inspection(page, label).get_by_label("OK", exact=True).check())
        answered += 1
        progress(page, f"{answered} of 11 required items answered")
    shot(page, "inspections-ok")

    brakes = inspection(page, "Brakes")
    item_saved(page, lambda: brakes.get_by_label("Defect", exact=True).check(), status=422)
    refusal = page.get_by_role("alert").filter(has_text="Describe the defect found on brakes")
    expect(refusal).to_be_visible()
    expect(brakes).to_have_accessible_description(re.compile("Describe the defect found on brakes"))
    expect(brakes.get_by_label("Defect", exact=True)).to_be_checked()  # what was chosen is kept
    progress(page, f"{answered} of 11 required items answered")  # nothing saved
    shot(page, "defect-without-description-refused")

    description = brakes.get_by_label("Defect description")
    expect(description).to_be_visible()
    description.fill("Pedal goes almost to the floor; air pressure warning on the dash.")
    item_saved(page, lambda: description.press("Tab"))
    answered += 1
    progress(page, re.compile(rf"^{answered} of 11 required items answered · 1 defect$"))
    expect(refusal).to_have_count(0)
    expect(brakes.get_by_label("Defect description")).to_have_value(
        "Pedal goes almost to the floor; air pressure warning on the dash.")
    expect(page.get_by_text("Defect reported.")).to_be_visible()
    shot(page, "defect-reported")

    for label in CHECKS:
        item_saved(page, lambda label=label: page.get_by_label(label).check())
        answered += 1
        progress(page, re.compile(rf"^{answered} of 11 "))
    notes = page.get_by_label("Notes")
    notes.fill("Left mirror loose, tightened.")
    item_saved(page, lambda: notes.press("Tab"))
    progress(page, "11 of 11 required items answered · 1 defect")
    shot(page, "all-answered")

    sign_off = page.get_by_role("button", name=f"Sign off {TRUCK_CHECKLIST.lower()}")
    expect(page.get_by_role("heading", name="Sign off")).to_be_visible()
    sign_off.click()
    expect(page).to_have_url(re.compile(rf"/dispatches/{job.id}$"))
    expect(page.get_by_role("status").filter(has_text=f"{TRUCK_CHECKLIST} signed off")).to_be_visible()
    flashes = page.locator("#flashes")
    expect(flashes).to_contain_text(re.compile(r"repair work order \S+ was opened and TRK-0100 is out of service"))
    expect(page.get_by_text("TRK-0100 is out of service.")).to_be_visible()
    truck_row = page.get_by_role("region", name="Checklists").get_by_role("listitem").filter(has_text=TRUCK_CHECKLIST).first
    expect(truck_row).to_contain_text("Signed off")
    expect(truck_row).to_contain_text("Brakes")
    shot(page, "truck-checklist-signed-off")

    page.get_by_role("button", name="Complete").click()
    refusal = page.get_by_role("alert").filter(has_text="cannot be completed")
    expect(refusal).to_contain_text(f"not signed off: {VEHICLE_DISPATCH}")
    expect(page.get_by_role("region", name="Details")).to_contain_text(re.compile(r"Status\s*In Progress"))
    shot(page, "complete-refused")

    checklist_links(page).filter(has_text=VEHICLE_DISPATCH).click()
    expect(page.get_by_role("heading", name=VEHICLE_DISPATCH, level=1)).to_be_visible()
    progress(page, "0 of 3 required items answered")
    destination = page.get_by_label("Destination")
    destination.fill("Hull terminal, dock 4")
    item_saved(page, lambda: destination.press("Tab"))
    fuel_start = page.get_by_label("Fuel at start")
    fuel_start.fill("150")
    item_saved(page, lambda: fuel_start.press("Tab"), status=422)
    expect(page.get_by_role("alert").filter(has_text="Fuel at start must be at most 100 %; 150 is too high")) \
        .to_be_visible()
    expect(page.get_by_label("Fuel at start")).to_have_value("150")  # what was typed is kept
    expect(page.get_by_label("Fuel at start")).to_have_accessible_description(re.compile("at most 100"))
    progress(page, "0 of 3 required items answered")
    shot(page, "fuel-150-refused")

    fuel_start = page.get_by_label("Fuel at start")
    fuel_start.fill("85")
    item_saved(page, lambda: fuel_start.press("Tab"))
    progress(page, "1 of 3 required items answered")
    expect(page.get_by_role("alert")).to_have_count(0)
    for label, value in (("Fuel at end", "40"), ("Mileage at start", "120500")):
        field = page.get_by_label(label)
        field.fill(value)
        item_saved(page, lambda field=field: field.press("Tab"))
    progress(page, "2 of 3 required items answered")
    mileage_end = page.get_by_label("Mileage at end")
    mileage_end.fill("120400")
    item_saved(page, lambda: mileage_end.press("Tab"), status=422)
    expect(page.get_by_role("alert").filter(has_text="cannot be less than mileage at start")).to_be_visible()
    shot(page, "mileage-end-below-start-refused")
    mileage_end = page.get_by_label("Mileage at end")
    mileage_end.fill("120730")
    item_saved(page, lambda: mileage_end.press("Tab"))
    expect(page.get_by_role("alert")).to_have_count(0)
    item_saved(page, lambda: inspection(page, "Vehicle safety check").get_by_label("OK", exact=True).check())
    progress(page, "3 of 3 required items answered")
    shot(page, "vehicle-dispatch-answered")

    page.get_by_role("button", name=f"Sign off {VEHICLE_DISPATCH.lower()}").click()
    expect(page.get_by_role("status").filter(has_text=f"{VEHICLE_DISPATCH} signed off")).to_be_visible()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("region", name="Details")).to_contain_text(re.compile(r"Status\s*Completed"))
    expect(page.locator("#flashes")).to_contain_text(f"{job.number} is now Completed")
    shot(page, "completed")

    page.get_by_role("link", name="← My work").click()
    expect(page.get_by_role("article", name=job.title)).to_have_count(0)  # collapsed under "Completed"
    page.get_by_text(re.compile(r"^Completed in the last")).click()
    expect(page.get_by_role("article", name=job.title)).to_contain_text("Completed")
    shot(page, "my-work-after")

    # The manager, on a desktop: the repair work order, the truck out of service.
    manager = desktop
    sign_in(manager, fleet.manager)
    main_nav(manager).get_by_role("link", name="Dispatches").click()
    repair_row = manager.get_by_role("row").filter(has_text="Repair TRK-0100: brakes")
    expect(repair_row).to_have_count(1)
    expect(repair_row).to_contain_text("High")
    expect(manager.get_by_role("row").filter(has_text=job.title)).to_contain_text("Completed")
    shot(manager, "manager-list-with-repair")
    repair_row.get_by_role("link").first.click()
    facts = manager.get_by_role("region", name="Details")
    expect(facts).to_contain_text(re.compile(r"Work type\s*Repair"))
    expect(facts).to_contain_text("Brakes: Pedal goes almost to the floor")
    expect(manager.get_by_role("region", name="Checklists")).to_contain_text("Repair work orders have no checklists.")
    shot(manager, "repair-work-order")

    main_nav(manager).get_by_role("link", name="Out of service").click()
    out = manager.get_by_role("region", name="TRK-0100 — Volvo FH16 #100")
    expect(out).to_contain_text("Brakes: Pedal goes almost to the floor")
    expect(out.get_by_role("link", name="Certify repair of TRK-0100")).to_be_visible()
    shot(manager, "out-of-service")

    new_work_order(manager, fleet.truck, "Second run to Hull")
    preview = manager.locator("#dispatch-preview")
    expect(preview.get_by_role("alert")).to_contain_text("TRK-0100 is out of service: only a repair")
    shot(manager, "new-order-preview-out-of-service")
    manager.get_by_role("button", name="Create work order").click()
    asset_field = manager.get_by_label("Asset", exact=True)
    expect(asset_field).to_have_accessible_description(re.compile(r"Asset TRK-0100 is out of service"))
    expect(manager.get_by_role("alert").filter(has_text="Asset TRK-0100 is out of service")).to_be_visible()
    expect(manager.get_by_label("Title")).to_have_value("Second run to Hull")
    shot(manager, "operation-order-refused")


# --- 3. the manager certifies the repair ------------------------------------------------------------


def test_manager_certifies_no_repair_needed_and_the_truck_returns_to_service(page, live_server, live_data, shot,
                                                                              page_watch):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    repair_number = report_brake_defect(live_server, job, tess)
    sign_in(page, fleet.manager)

    main_nav(page).get_by_role("link", name="Out of service").click()
    expect(page.get_by_role("heading", name="Assets out of service")).to_be_visible()
    out = page.get_by_role("region", name="TRK-0100 — Volvo FH16 #100")
    expect(out).to_contain_text(f"repair {repair_number}")
    shot(page, "out-of-service")
    out.get_by_role("link", name="Certify repair of TRK-0100").click()
    expect(page.get_by_role("heading", name="Certify repair of TRK-0100")).to_be_visible()
    expect(page.get_by_role("list").filter(has_text="Brakes")).to_contain_text(f"repair work order {repair_number}")
    shot(page, "certify-form")

    page.get_by_label("The defects were repaired").check()
    page.get_by_role("button", name="Certify and return to service").click()
    refusal = page.get_by_role("alert").filter(has_text=f"Repair work order {repair_number}")
    expect(refusal).to_contain_text("is not completed")
    expect(page.get_by_role("group", name="Certification")).to_have_accessible_description(re.compile("not completed"))
    expect(page.get_by_label("The defects were repaired")).to_be_checked()
    shot(page, "repaired-refused")

    page.get_by_label("No repair was needed").check()
    page.get_by_role("button", name="Certify and return to service").click()
    expect(page.get_by_role("alert").filter(has_text="Say why no repair is needed")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_accessible_description(re.compile("Say why no repair is needed"))
    shot(page, "note-missing-refused")

    page.get_by_label("Notes").fill("Brakes tested on the rolling road: within limits; the air line had frozen.")
    page.get_by_role("button", name="Certify and return to service").click()
    expect(page).to_have_url(re.compile(r"/checklists/out-of-service$"))
    expect(page.get_by_role("status").filter(has_text="TRK-0100 is back in service")).to_be_visible()
    expect(page.get_by_text("Every asset is in service.")).to_be_visible()
    expect(page.get_by_role("region", name="TRK-0100 — Volvo FH16 #100")).to_have_count(0)
    shot(page, "back-in-service")

    main_nav(page).get_by_role("link", name="Dispatches").click()
    expect(page.get_by_role("row").filter(has_text=repair_number)).to_contain_text("Cancelled")

    new_work_order(page, fleet.truck, "Second run to Hull")
    preview = page.locator("#dispatch-preview")
    expect(preview.get_by_text("is out of service")).to_have_count(0)
    expect(preview.get_by_role("listitem").filter(has_text=TRUCK_CHECKLIST)).to_have_count(1)
    shot(page, "new-order-in-service")
    page.get_by_role("button", name="Create work order").click()
    expect(page).to_have_url(re.compile(r"/dispatches/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Second run to Hull")
    expect(checklist_links(page)).to_have_text([TRUCK_CHECKLIST, VEHICLE_DISPATCH])
    shot(page, "operation-order-created")


# --- 4. the admin adds a model-specific checklist ---------------------------------------------------


def test_admin_adds_a_model_checklist_and_new_dispatches_get_it(page, live_server, shot):
    fleet = truck_fleet(live_server, model_addition=False)
    sign_in(page, fleet.admin)

    main_nav(page).get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Makes and models").click()
    expect(page.get_by_role("heading", name="Makes and models")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="FH16")
    expect(row).to_contain_text("Truck")
    shot(page, "make-models")
    row.get_by_role("link", name=f"Checklists of {fleet.make_model}").click()
    expect(page.get_by_role("heading", name=f"{fleet.make_model}: additional checklists")).to_be_visible()
    preview_line = page.get_by_role("listitem").filter(has_text=f"{fleet.make_model} (Truck):")
    expect(preview_line).to_contain_text(f"{fleet.make_model} (Truck): {TRUCK_CHECKLIST}")
    expect(preview_line).not_to_contain_text(VEHICLE_DISPATCH)
    expect(page.get_by_role("row").filter(has_text="Nothing configured here yet.")).to_have_count(1)
    shot(page, "model-detail-set")

    kind = page.get_by_label("Detail type")
    option = kind.get_by_role("option").filter(has_text=VEHICLE_DISPATCH)
    kind.select_option(label=option.inner_text())
    url_before = page.url
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/detail-set")) as added:
        page.get_by_role("button", name="Add", exact=True).click()
    assert added.value.status == 200
    assert added.value.request.header_value("hx-request") == "true", "added in place (htmx), not by a reload"
    expect(page.get_by_role("status").filter(has_text=f"Added {VEHICLE_DISPATCH}.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="vehicle_dispatch")).to_contain_text(VEHICLE_DISPATCH)
    expect(preview_line).to_contain_text(f"{TRUCK_CHECKLIST}, {VEHICLE_DISPATCH}")
    assert page.url == url_before
    shot(page, "vehicle-dispatch-added")

    sign_out(page)
    sign_in(page, fleet.manager)
    new_work_order(page, fleet.truck, "Shuttle to Leeds station", priority="Low")
    preview = page.locator("#dispatch-preview")
    expect(preview.get_by_role("listitem").filter(has_text=f"{VEHICLE_DISPATCH} (from model {fleet.make_model})")) \
        .to_have_count(1)
    expect(preview.get_by_role("listitem").filter(has_text=f"{TRUCK_CHECKLIST} (from asset type Truck)")) \
        .to_have_count(1)
    shot(page, "manager-preview-both")
    page.get_by_role("button", name="Create work order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shuttle to Leeds station")
    expect(checklist_links(page)).to_have_text([TRUCK_CHECKLIST, VEHICLE_DISPATCH])
    shot(page, "dispatch-with-both-checklists")


# --- 5. two people edit the same checklist ----------------------------------------------------------


def test_two_people_answer_the_same_item_and_the_second_sees_the_conflict(new_context, live_server, live_data, shot):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    truck_checklist = checklist_ids(live_server, job)[TRUCK_CHECKLIST]
    technician = new_context("phone").new_page()
    manager = new_context("desktop").new_page()
    sign_in(technician, tess, path=f"/auth/login?next=/checklists/{truck_checklist}")
    sign_in(manager, fleet.manager, path=f"/auth/login?next=/checklists/{truck_checklist}")
    for page in (technician, manager):
        expect(page.get_by_role("heading", name=TRUCK_CHECKLIST, level=1)).to_be_visible()
        progress(page, "0 of 11 required items answered")
    shot(technician, "technician-opens")
    shot(manager, "manager-opens")

    # The manager reports the brakes as defective ...
    brakes = inspection(manager, "Brakes")
    item_saved(manager, lambda: brakes.get_by_label("Defect", exact=True).check(), status=422)
    description = brakes.get_by_label("Defect description")
    description.fill("Handbrake does not hold on the ramp.")
    item_saved(manager, lambda: description.press("Tab"))
    progress(manager, "1 of 11 required items answered · 1 defect")
    shot(manager, "manager-reports-defect")

    # ... while the technician, whose page still shows no answer, says they are OK.
    brakes = inspection(technician, "Brakes")
    expect(brakes.get_by_label("OK", exact=True)).not_to_be_checked()
    item_saved(technician, lambda: brakes.get_by_label("OK", exact=True).check(), status=409)
    conflict = technician.get_by_role("alert").filter(has_text="Morgan Manager changed brakes to 'defect'")
    expect(conflict).to_contain_text("your answer was not saved")
    expect(brakes.get_by_label("Defect", exact=True)).to_be_checked()  # the current value, shown
    expect(brakes.get_by_label("OK", exact=True)).not_to_be_checked()
    expect(brakes.get_by_label("Defect description")).to_have_value("Handbrake does not hold on the ramp.")
    progress(technician, "1 of 11 required items answered · 1 defect")
    shot(technician, "technician-sees-conflict")

    with live_server.database() as session:
        row = session.get(Dispatch, job.id)
        checklist = next(c for c in checklist_service.checklists_for(row) if c.label == TRUCK_CHECKLIST)
        assert checklist.items["brakes_checked"].display == "defect"
        defect = session.scalar(select(ChecklistDefect).where(ChecklistDefect.dispatch_id == job.id))
        assert defect.description == "Handbrake does not hold on the ramp."
        assert defect.created_by_id == fleet.manager.id

    manager.reload()  # the manager's answer stands
    expect(inspection(manager, "Brakes").get_by_label("Defect", exact=True)).to_be_checked()
    shot(manager, "manager-reloads")


# --- phone size, accessible names, keyboard ---------------------------------------------------------


def test_main_pages_fit_a_360_pixel_screen(new_context, live_server, live_data, shot):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull to the terminal at dock 4",
                             description="Two coils, 18 t.", status="In Progress", technician=tess)
    waiting = live_data.dispatch(fleet.truck, title="Check the tachograph calibration")
    truck_checklist = checklist_ids(live_server, job)[TRUCK_CHECKLIST]
    technician = new_context("phone").new_page()
    manager = new_context("phone").new_page()
    sign_in(technician, tess)
    sign_in(manager, fleet.manager)

    too_wide = {}

    def measure(page: Any, name: str) -> None:
        shot(page, name)
        overflow = horizontal_overflow(page)
        if overflow:
            too_wide[name] = f"{overflow} px too wide; past the right edge: {wider_than_screen(page)}"

    technician.goto("/dispatches/mine")
    expect(technician.get_by_role("article", name=job.title)).to_be_visible()
    measure(technician, "my-work")
    technician.goto(f"/checklists/{truck_checklist}")
    expect(technician.get_by_role("heading", name=TRUCK_CHECKLIST)).to_be_visible()
    measure(technician, "checklist")
    technician.goto(f"/dispatches/{job.id}")
    expect(technician.get_by_role("heading", level=1)).to_contain_text(job.title)
    measure(technician, "dispatch-page-technician")

    manager.goto("/dispatches/")
    expect(manager.get_by_role("row").filter(has_text=job.title)).to_have_count(1)
    measure(manager, "dispatch-list")
    manager.goto(f"/dispatches/{waiting.id}")  # with the assignment panel
    expect(manager.get_by_role("region", name="Assignment")).to_be_visible()
    measure(manager, "dispatch-page-manager")
    manager.get_by_role("region", name="Assignment").get_by_text("Why").first.click()  # a candidate's breakdown
    measure(manager, "dispatch-page-manager-why-open")
    manager.goto("/dispatches/new")
    choose_asset(manager, "TRK", fleet.truck)
    measure(manager, "new-form-with-preview")
    manager.locator("#dispatch-preview").get_by_text("Why").first.click()
    measure(manager, "new-form-preview-why-open")

    assert not too_wide, "pages that scroll sideways on a 360 px screen:\n" + "\n".join(
        f"  {name}: {what}" for name, what in too_wide.items())


_UNNAMED_CONTROLS = """
() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.type !== 'hidden')
  .filter((el) => {
    const byLabel = [...(el.labels || [])].some((label) => label.textContent.trim());
    const byAria = (el.getAttribute('aria-label') || '').trim();
    const byIds = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .some((id) => (document.getElementById(id)?.textContent || '').trim());
    const byText = el.tagName === 'BUTTON' && el.textContent.trim();
    return !(byLabel || byAria || byIds || byText || (el.title || '').trim());
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""


def test_every_checklist_control_has_an_accessible_name(phone, live_server, live_data, shot):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    ids = checklist_ids(live_server, job)
    page = phone
    sign_in(page, tess)

    for label in (TRUCK_CHECKLIST, VEHICLE_DISPATCH):
        page.goto(f"/checklists/{ids[label]}")
        expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()
        assert page.evaluate(_UNNAMED_CONTROLS) == [], f"controls without an accessible name on the {label}"
        # The radios are named by their own labels and grouped under the item's legend.
        for item in INSPECTIONS if label == TRUCK_CHECKLIST else ("Vehicle safety check",):
            group = inspection(page, item)
            expect(group.get_by_role("radio", name="OK", exact=True)).to_have_count(1)
            expect(group.get_by_role("radio", name="Defect", exact=True)).to_have_count(1)
        for control in page.get_by_role("main").locator("input:visible, select:visible, textarea:visible, "
                                                        "button:visible").all():
            expect(control).to_have_accessible_name(re.compile(r"\w"))  # as the browser computes it
        shot(page, f"names-{label}")


def _tab_to(page: Any, target: Any, presses: int = 40) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with Tab")


def test_keyboard_answers_inspection_items(phone, live_server, live_data, shot):
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    page = phone
    sign_in(page, tess, path=f"/auth/login?next=/checklists/{checklist_ids(live_server, job)[TRUCK_CHECKLIST]}")
    expect(page.get_by_role("heading", name=TRUCK_CHECKLIST, level=1)).to_be_visible()

    tires_ok = inspection(page, "Tires and wheels").get_by_role("radio", name="OK", exact=True)
    _tab_to(page, tires_ok)  # from the top of the page
    expect(tires_ok).to_be_focused()
    shot(page, "tires-focused")
    item_saved(page, lambda: page.keyboard.press("Space"))
    progress(page, "1 of 11 required items answered")
    expect(inspection(page, "Tires and wheels").get_by_role("radio", name="OK", exact=True)).to_be_checked()
    shot(page, "tires-ok-by-keyboard")

    # Tab goes on from the item just answered to the next one.
    lights_ok = inspection(page, "Lights and reflectors").get_by_role("radio", name="OK", exact=True)
    page.keyboard.press("Tab")
    expect(lights_ok).to_be_focused()
    item_saved(page, lambda: page.keyboard.press("Space"))
    progress(page, "2 of 11 required items answered")
    expect(inspection(page, "Lights and reflectors").get_by_role("radio", name="OK", exact=True)).to_be_checked()
    shot(page, "lights-ok-by-keyboard")

    with live_server.database() as session:
        saved = checklist_service.checklists_for(session.get(Dispatch, job.id))
        truck = next(c for c in saved if c.label == TRUCK_CHECKLIST)
        assert truck.items["tires_checked"].display == "ok"
        assert truck.items["lights_checked"].display == "ok"


def test_focus_stays_on_an_inspection_answered_with_the_keyboard(phone, live_server, live_data, shot):
    """After an item is saved and swapped in again, the keyboard is still on the choice made,
    so the arrow keys change it and a screen reader keeps its place."""
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    page = phone
    sign_in(page, tess, path=f"/auth/login?next=/checklists/{checklist_ids(live_server, job)[TRUCK_CHECKLIST]}")

    brakes_ok = inspection(page, "Brakes").get_by_role("radio", name="OK", exact=True)
    _tab_to(page, brakes_ok)
    item_saved(page, lambda: page.keyboard.press("Space"))
    progress(page, "1 of 11 required items answered")
    focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 60)")
    shot(page, "brakes-ok-by-keyboard")
    assert brakes_ok.evaluate("(el) => el === document.activeElement"), (
        f"after the answer was saved, the keyboard focus is on {focused!r}, not on the Brakes 'OK' radio "
        "just chosen: the arrow keys no longer change the answer"
    )

    # Arrow keys move within the item's choices: Defect, which needs a description.
    item_saved(page, lambda: page.keyboard.press("ArrowRight"), status=422)
    brakes = inspection(page, "Brakes")
    expect(brakes.get_by_role("radio", name="Defect", exact=True)).to_be_checked()
    expect(page.get_by_role("alert").filter(has_text="Describe the defect found on brakes")).to_be_visible()
    description = brakes.get_by_label("Defect description")
    expect(description).to_be_visible()
    expect(description).to_be_focused()  # the refusal puts the focus where the description goes
    page.keyboard.type("Rear left caliper sticks.")
    item_saved(page, lambda: page.keyboard.press("Tab"))
    progress(page, "1 of 11 required items answered · 1 defect")
    shot(page, "defect-by-keyboard")


def test_the_conflict_names_who_changed_the_item_not_who_answered_last(new_context, live_server, live_data, shot):
    """The manager reports the brakes; the technician, on a page loaded before that, answers
    the tires (fine) and then the brakes: the refusal says the manager changed the brakes."""
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    truck_checklist = checklist_ids(live_server, job)[TRUCK_CHECKLIST]
    technician = new_context("phone").new_page()
    manager = new_context("desktop").new_page()
    sign_in(technician, tess, path=f"/auth/login?next=/checklists/{truck_checklist}")
    sign_in(manager, fleet.manager, path=f"/auth/login?next=/checklists/{truck_checklist}")
    progress(technician, "0 of 11 required items answered")

    brakes = inspection(manager, "Brakes")
    item_saved(manager, lambda: brakes.get_by_label("Defect", exact=True).check(), status=422)
    description = brakes.get_by_label("Defect description")
    description.fill("Handbrake does not hold on the ramp.")
    item_saved(manager, lambda: description.press("Tab"))

    item_saved(technician, lambda: inspection(technician, "Tires and wheels").get_by_label("OK", exact=True).check())
    item_saved(technician, lambda: inspection(technician, "Brakes").get_by_label("OK", exact=True).check(), status=409)
    conflict = technician.get_by_role("alert").filter(has_text="changed brakes to 'defect'")
    expect(conflict).to_be_visible()
    shot(technician, "technician-sees-conflict")
    expect(conflict).to_contain_text(f"{fleet.manager.name} changed brakes")


def test_sign_off_warns_about_a_defect_reported_on_the_page(phone, live_server, live_data, shot):
    """Signing off with a defect opens a repair and takes the truck out of service: the
    sign-off section says so as soon as the defect is reported, not only after a reload."""
    fleet = truck_fleet(live_server)
    tess = fleet.technicians[0]
    job = live_data.dispatch(fleet.truck, title="Deliver steel coils to Hull", status="In Progress", technician=tess)
    page = phone
    sign_in(page, tess, path=f"/auth/login?next=/checklists/{checklist_ids(live_server, job)[TRUCK_CHECKLIST]}")
    sign_off = page.get_by_role("region", name="Sign off")
    expect(sign_off).not_to_contain_text("out of service")

    brakes = inspection(page, "Brakes")
    item_saved(page, lambda: brakes.get_by_label("Defect", exact=True).check(), status=422)
    description = brakes.get_by_label("Defect description")
    description.fill("Pedal goes almost to the floor.")
    item_saved(page, lambda: description.press("Tab"))
    progress(page, "1 of 11 required items answered · 1 defect")
    sign_off.scroll_into_view_if_needed()
    shot(page, "defect-reported")
    expect(sign_off).to_contain_text("a repair work order will be opened and the asset taken out of service")
