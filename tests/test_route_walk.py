"""Every route, for every role: the expected answer, and never a server error.

The table below names every endpoint. A route added without an entry fails
``test_every_route_is_in_the_table``, so access rules are decided when a page is written.

Roles: anonymous, a technician (assigned to the dispatch the URLs point at), another
technician (not assigned), a manager and an admin. GET requests are made for real; for
POST-only routes the refusals are checked (anonymous is sent to sign in, a role that may
not act gets 403/404) and nothing is changed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import TruckDispatchChecklist, UserNotification, utcnow
from app.plugins.contracts import DeliveryAttempt, Notification
from app.services import dispatches, user_notifications
from app.services.actors import acting_as
from tests.factories import (
    AdminFactory,
    AssetFactory,
    DispatchFactory,
    MajorLocationFactory,
    MakeModelFactory,
    ManagerFactory,
    SkillFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
    WebhookSubscriptionFactory,
    configured_truck_type,
)

ROLES = ("anonymous", "technician", "other_technician", "manager", "admin")
LOGIN = 302  # anonymous users are sent to the sign-in page

#                                     anonymous technician other_tech manager admin
ADMIN_ONLY = dict(zip(ROLES, (LOGIN, 403, 403, 403, 200), strict=True))
MANAGERS = dict(zip(ROLES, (LOGIN, 403, 403, 200, 200), strict=True))
EVERYONE = dict(zip(ROLES, (LOGIN, 200, 200, 200, 200), strict=True))
OWN_DISPATCH = dict(zip(ROLES, (LOGIN, 200, 404, 200, 200), strict=True))
# Managers and admins asking for "my work" are sent to the dispatch list.
TECHNICIANS = dict(zip(ROLES, (LOGIN, 200, 200, 302, 302), strict=True))
PUBLIC = dict(zip(ROLES, (200, 200, 200, 200, 200), strict=True))
SIGNED_IN_GO_HOME = dict(zip(ROLES, (200, 302, 302, 302, 302), strict=True))

# GET answers per endpoint; None for routes that only accept POST (checked by refusal below).
GET_EXPECTED: dict[str, dict[str, int] | None] = {
    "main.home": EVERYONE,
    "main.healthz": PUBLIC,
    "main.favicon": PUBLIC,
    "static": PUBLIC,
    "auth.login": SIGNED_IN_GO_HOME,
    "auth.logout": None,
    "account.index": EVERYONE,
    "account.password": None,
    "account.time_zone": None,
    "account.session_revoke": None,
    "account.sessions_revoke_others": None,
    "account.token_create": None,
    "account.token_rename": None,
    "account.token_revoke": None,
    "dispatches.index": dict(zip(ROLES, (LOGIN, 302, 302, 200, 200), strict=True)),
    "dispatches.my_work": TECHNICIANS,
    "dispatches.share_position": None,
    "dispatches.export_csv": EVERYONE,
    "dispatches.show": OWN_DISPATCH,
    "dispatches.print_view": OWN_DISPATCH,
    "dispatches.new": MANAGERS,
    "dispatches.asset_options": MANAGERS,
    "dispatches.preview": MANAGERS,
    "dispatches.assign": None,
    "dispatches.change_status": None,
    "dispatches.cancel": MANAGERS,
    "dispatches.bulk_status": None,
    "checklists.show": OWN_DISPATCH,
    "checklists.save_all": None,
    "checklists.answer": None,
    "checklists.sign_off": None,
    "checklists.out_of_service": MANAGERS,
    "checklists.certify_repair": MANAGERS,
    "trailers.index": MANAGERS,
    "notifications.index": EVERYONE,
    "notifications.mark_read": None,
    "notifications.mark_all_read": None,
    "alerts.index": MANAGERS,
    "alerts.acknowledge": None,
    "alerts.resolve": None,
    "alerts.silence": None,
    "alerts.lift": None,
    "alerts.settings": ADMIN_ONLY,
    "alerts.threshold_edit": ADMIN_ONLY,
    "reports.index": dict(zip(ROLES, (LOGIN, 403, 403, 302, 302), strict=True)),  # to today's daily summary
    "reports.daily": MANAGERS,
    "reports.weekly": MANAGERS,
    "dashboards.technicians": MANAGERS,
    "dashboards.tiles": MANAGERS,
    "dashboards.trends": MANAGERS,
    "dashboards.trends_csv": MANAGERS,
    "dashboards.assignments": MANAGERS,
    "dashboards.assignments_csv": MANAGERS,
}
for _endpoint in (
    "index", "asset_types", "asset_type_new", "asset_type_edit", "make_models", "make_model_new", "make_model_edit",
    "locations", "location_new", "location_edit", "assets", "asset_new", "asset_edit", "users", "user_new",
    "user_edit", "technicians", "technician_profile", "detail_set", "plugins", "sign_in_activity",
    "fleet_import", "fleet_template", "fleet_export", "scheduler",
    "fleet_import", "fleet_template", "fleet_export", "deliveries", "channels", "health_page",
    "webhooks", "webhook_log", "webhook_delete_confirm",
):
    GET_EXPECTED[f"admin.{_endpoint}"] = ADMIN_ONLY
for _endpoint in (
    "asset_type_active", "make_model_active", "location_active", "asset_active", "user_active",
    "technician_availability", "technician_skill", "technician_skill_remove", "detail_set_add",
    "detail_set_active", "detail_set_remove", "plugin_state", "user_sign_out", "schedule_update", "job_run_now",
    "detail_set_active", "detail_set_remove", "plugin_state", "user_sign_out", "delivery_retry",
    "deliveries_retry_dead", "channel_save",
    "webhook_create", "webhook_active", "webhook_rotate", "webhook_delete", "webhook_test", "webhook_delivery_retry",
):
    GET_EXPECTED[f"admin.{_endpoint}"] = None

# Who may POST (others are refused): endpoint -> {role: refusal status}.
POST_REFUSED: dict[str, dict[str, int]] = {
    "dispatches.assign": {"technician": 403, "other_technician": 403},
    "dispatches.bulk_status": {"technician": 403, "other_technician": 403},
    "dispatches.change_status": {"other_technician": 404},
    # Only technicians share a location; an empty form is refused with why (400), nothing written.
    "dispatches.share_position": {"technician": 400, "other_technician": 400, "manager": 403, "admin": 403},
    "dispatches.new": {"technician": 403, "other_technician": 403},
    "dispatches.preview": {"technician": 403, "other_technician": 403},
    "checklists.save_all": {"other_technician": 404},
    "checklists.answer": {"other_technician": 404},
    "checklists.sign_off": {"other_technician": 404},
    "checklists.certify_repair": {"technician": 403, "other_technician": 403},
    # The notification in the URLs is the technician's: nobody else can mark it.
    "notifications.mark_read": {"other_technician": 404, "manager": 404, "admin": 404},
    "alerts.acknowledge": {"technician": 403, "other_technician": 403},
    "alerts.resolve": {"technician": 403, "other_technician": 403},
    "alerts.silence": {"technician": 403, "other_technician": 403},
    "alerts.lift": {"technician": 403, "other_technician": 403},
    "alerts.settings": {"technician": 403, "other_technician": 403, "manager": 403},
    "alerts.threshold_edit": {"technician": 403, "other_technician": 403, "manager": 403},
}


@pytest.fixture
def world(app, system_actor):
    """One of everything the URLs point at, and a user per role."""
    technician = TechnicianFactory(name="Own Technician")
    TechnicianProfileFactory(user=technician)
    people = {
        "technician": technician,
        "other_technician": TechnicianFactory(name="Other Technician"),
        "manager": ManagerFactory(),
        "admin": AdminFactory(),
    }
    truck = configured_truck_type()
    model = MakeModelFactory(asset_type=truck)
    location = MajorLocationFactory()
    asset = AssetFactory(asset_type=truck, make_model=model, major_location=location)
    dispatch = DispatchFactory(asset=asset)
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    checklist = db.session.scalar(select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == dispatch.id))
    skill = SkillFactory()
    note = user_notifications.record(
        Notification(kind="dispatch.assigned", subject="Assigned to you", body="Check the truck."),
        DeliveryAttempt(delivery_id="walk-1", channel="in_app", attempt=1, created_at=utcnow()), [technician],
    )
    assert note == 1
    subscription = WebhookSubscriptionFactory(owner=people["admin"])
    values = {
        "dispatch_id": dispatch.id,
        "detail_id": checklist.detail_id,
        "asset_id": asset.id,
        "asset_type_id": truck.id,
        "make_model_id": model.id,
        "location_id": location.id,
        "user_id": technician.id,
        "skill_id": skill.id,
        "owner_id": truck.id,
        "kind": "asset-types",
        "row_id": truck.dispatch_detail_table_sets[0].id,
        "name": "tires_checked",
        "key": "truck_checklist",
        "filename": "css/app.css",
        "session_id": 1,
        "token_id": 1,
        "notification_id": db.session.scalar(select(UserNotification.id)),
        "alert_id": 1,
        "silence_id": 1,
        "category": "fallback_routing",
        "day": "2026-06-10",
        "job": "assign-pending",
        "public_id": "00000000-0000-4000-8000-000000000000",
        "subscription_id": subscription.id,
        "delivery_id": "00000000-0000-4000-8000-000000000000",
        "figure": "status",
    }
    return people, values


def url_for_rule(app, rule, values: dict) -> str:
    adapter = app.url_map.bind("localhost")
    method = "GET" if "GET" in rule.methods else "POST"
    return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments}, method=method)


def rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def sign_in(client, user) -> None:
    response = client.post("/auth/login", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in rules(app)}
    missing = sorted({e for e in endpoints if not is_api(e)} - set(GET_EXPECTED))
    assert missing == [], f"decide who may use these routes and add them to GET_EXPECTED: {missing}"
    api_missing = sorted({(e, m) for rule in rules(app) if is_api(rule.endpoint)
                          for e, m in [(rule.endpoint, m) for m in rule.methods - {"HEAD", "OPTIONS"}]}
                         - set(API_EXPECTED))
    assert api_missing == [], f"decide who may call these API routes and add them to API_EXPECTED: {api_missing}"


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_expected(app, world, role):
    people, values = world
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, people[role])
    wrong = []
    for rule in rules(app):
        expected = GET_EXPECTED.get(rule.endpoint)
        if expected is None or "GET" not in rule.methods or is_api(rule.endpoint):
            continue
        url = url_for_rule(app, rule, values)
        response = client.get(url)
        status = response.status_code
        response.close()
        if status != expected[role]:
            wrong.append(f"GET {url} ({rule.endpoint}) answered {status}, expected {expected[role]}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_every_action_refuses_who_may_not_use_it(app, world, role):
    people, values = world
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, people[role])
    wrong = []
    for rule in rules(app):
        if "POST" not in rule.methods or rule.endpoint == "auth.login" or is_api(rule.endpoint):
            continue
        if role == "anonymous":
            expected = 302
        else:
            admin_only = GET_EXPECTED.get(rule.endpoint) in (None, ADMIN_ONLY) and rule.endpoint.startswith("admin.")
            expected = 403 if admin_only and role != "admin" else POST_REFUSED.get(rule.endpoint, {}).get(role)
        if expected is None:
            continue
        url = url_for_rule(app, rule, values)
        response = client.post(url, data={})
        response.close()
        if response.status_code != expected:
            wrong.append(f"POST {url} ({rule.endpoint}) answered {response.status_code}, expected {expected}")
        if role == "anonymous" and response.status_code == 302 and rule.endpoint != "auth.logout":
            if "/auth/login" not in response.headers["Location"]:
                wrong.append(f"POST {url} sent an anonymous user to {response.headers['Location']}")
    assert wrong == []


@pytest.mark.parametrize("url", [
    "/dispatches/100000000000000000000",
    "/checklists/100000000000000000000",
    "/admin/assets?asset_type_id=100000000000000000000",
    "/dispatches/new/preview?asset_id=100000000000000000000",
])
def test_numbers_larger_than_any_record_are_refused_not_a_server_error(app, world, url):
    people, _ = world
    client = app.test_client()
    sign_in(client, people["admin"])
    response = client.get(url)
    response.close()
    assert response.status_code in (200, 400, 404, 422)


# --- The JSON API, walked with each role's bearer token ------------------------------------

API_BLUEPRINTS = ("api_", "api-docs")


def is_api(endpoint: str) -> bool:
    return endpoint.startswith(API_BLUEPRINTS)


#                   anonymous technician other_tech manager admin
API_ANYONE = dict(zip(ROLES, (200, 200, 200, 200, 200), strict=True))
API_SIGNED_IN = dict(zip(ROLES, (401, 200, 200, 200, 200), strict=True))
API_OWN = dict(zip(ROLES, (401, 200, 404, 200, 200), strict=True))
API_MANAGERS = dict(zip(ROLES, (401, 403, 403, 200, 200), strict=True))
API_ADMIN = dict(zip(ROLES, (401, 403, 403, 403, 200), strict=True))
API_ADMIN_CHANGE = dict(zip(ROLES, (401, 403, 403, 403, 422), strict=True))
# Unsafe methods are sent with an empty JSON object: who may act gets past the role check to
# the body's validation (422) or the If-Match check (428); who may not is refused first.
API_CHANGE_MANAGERS = dict(zip(ROLES, (401, 403, 403, 428, 428), strict=True))
API_CREATE_MANAGERS = dict(zip(ROLES, (401, 403, 403, 422, 422), strict=True))
# The body is checked before the dispatch is looked up (a valid one gets the other technician a
# 404: test_api_dispatches.test_technician_moves_own_work_forward_only).
API_TRANSITION = dict(zip(ROLES, (401, 422, 422, 422, 422), strict=True))
API_ADMIN_IF_MATCH = dict(zip(ROLES, (401, 403, 403, 403, 428), strict=True))
API_DECLINE = dict(zip(ROLES, (401, 428, 404, 403, 403), strict=True))
# The dispatch is looked up first (the other technician: 404), then If-Match is asked for.
API_OWN_CHANGE = dict(zip(ROLES, (401, 428, 404, 428, 428), strict=True))

#: (endpoint, method) -> the answer per role.
API_EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("api-docs.openapi_json", "GET"): API_ANYONE,
    ("api_docs.docs", "GET"): API_ANYONE,
    ("api_dispatches.list_dispatches", "GET"): API_SIGNED_IN,
    ("api_dispatches.create_dispatch", "POST"): API_CREATE_MANAGERS,
    ("api_dispatches.get_dispatch", "GET"): API_OWN,
    ("api_dispatches.update_dispatch", "PATCH"): API_CREATE_MANAGERS,
    ("api_dispatches.transition", "POST"): API_TRANSITION,
    ("api_dispatches.bulk_transition", "POST"): API_CREATE_MANAGERS,
    ("api_dispatches.assign", "POST"): API_CREATE_MANAGERS,
    ("api_dispatches.unassign", "DELETE"): API_CHANGE_MANAGERS,
    ("api_dispatches.decline", "POST"): API_DECLINE,
    ("api_dispatches.get_candidates", "GET"): API_MANAGERS,
    ("api_assignments.list_assignments", "GET"): API_MANAGERS,
    ("api_detail_rows.list_detail_rows", "GET"): API_OWN,
    ("api_detail_rows.get_detail_row", "GET"): API_OWN,
    ("api_detail_rows.answer_items", "PATCH"): API_TRANSITION,
    ("api_detail_rows.sign_off", "POST"): API_OWN_CHANGE,
    ("api_detail_rows.list_defects", "GET"): API_OWN,
    ("api_detail_rows.report_defect", "POST"): API_TRANSITION,
    ("api_detail_types.list_detail_types", "GET"): API_SIGNED_IN,
    ("api_events.list_events", "GET"): API_SIGNED_IN,
    ("api_webhook_subscriptions.list_subscriptions", "GET"): API_ADMIN,
    ("api_health.get_health", "GET"): API_ADMIN,
    ("api_webhook_subscriptions.create_subscription", "POST"): API_ADMIN_CHANGE,
    ("api_webhook_subscriptions.get_subscription", "GET"): API_ADMIN,
    ("api_webhook_subscriptions.update_subscription", "PATCH"): API_ADMIN_CHANGE,
    ("api_webhook_subscriptions.delete_subscription", "DELETE"): API_ADMIN_IF_MATCH,
    ("api_webhook_subscriptions.list_deliveries", "GET"): API_ADMIN,
    ("api_webhook_subscriptions.rotate_secret", "POST"): API_ADMIN_IF_MATCH,
    # The walk's subscription is active: the test event is queued. The delivery id names none.
    ("api_webhook_subscriptions.send_test", "POST"): dict(zip(ROLES, (401, 403, 403, 403, 202), strict=True)),
    ("api_webhook_subscriptions.retry_delivery", "POST"): dict(zip(ROLES, (401, 403, 403, 403, 404), strict=True)),
    ("api_repairs.certify_repair", "POST"): API_CREATE_MANAGERS,
    ("api_technicians.report_position", "PUT"): dict(zip(ROLES, (401, 422, 422, 403, 403), strict=True)),
    ("api_reports.analytics_report", "GET"): API_MANAGERS,
    ("api_reports.metrics_report", "GET"): API_MANAGERS,
    ("api_asset_types.list_asset_types", "GET"): API_ADMIN,
    ("api_asset_types.create_asset_type", "POST"): API_ADMIN_CHANGE,
    ("api_asset_types.get_asset_type", "GET"): API_ADMIN,
    ("api_asset_types.update_asset_type", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_make_models.list_make_models", "GET"): API_ADMIN,
    ("api_make_models.create_make_model", "POST"): API_ADMIN_CHANGE,
    ("api_make_models.get_make_model", "GET"): API_ADMIN,
    ("api_make_models.update_make_model", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_locations.list_locations", "GET"): API_ADMIN,
    ("api_locations.create_location", "POST"): API_ADMIN_CHANGE,
    ("api_locations.get_location", "GET"): API_ADMIN,
    ("api_locations.update_location", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_assets.list_assets", "GET"): API_MANAGERS,
    ("api_assets.create_asset", "POST"): API_ADMIN_CHANGE,
    ("api_assets.get_asset", "GET"): API_MANAGERS,
    ("api_assets.update_asset", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_detail_sets.get_asset_type_set", "GET"): API_ADMIN,
    ("api_detail_sets.add_to_asset_type_set", "POST"): API_ADMIN_CHANGE,
    ("api_detail_sets.update_asset_type_set_entry", "PATCH"): API_ADMIN_CHANGE,
    ("api_detail_sets.remove_from_asset_type_set", "DELETE"): API_ADMIN_IF_MATCH,
    ("api_detail_sets.get_make_model_set", "GET"): API_ADMIN,
    ("api_detail_sets.add_to_make_model_set", "POST"): API_ADMIN_CHANGE,
    ("api_detail_sets.update_make_model_set_entry", "PATCH"): API_ADMIN_CHANGE,
    ("api_detail_sets.remove_from_make_model_set", "DELETE"): API_ADMIN_IF_MATCH,
    ("api_users.list_users", "GET"): API_ADMIN,
    ("api_users.create_user", "POST"): API_ADMIN_CHANGE,
    ("api_users.get_user", "GET"): API_ADMIN,
    ("api_users.update_user", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_skills.list_skills", "GET"): API_MANAGERS,
    ("api_skills.create_skill", "POST"): API_ADMIN_CHANGE,
    ("api_skills.get_skill", "GET"): API_MANAGERS,
    ("api_skills.update_skill", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_technicians.list_technicians", "GET"): API_MANAGERS,
    ("api_technicians.get_technician", "GET"): API_OWN,
    ("api_technicians.update_profile", "PATCH"): API_ADMIN_IF_MATCH,
    ("api_technicians.list_technician_skills", "GET"): API_OWN,
    ("api_technicians.set_technician_skill", "PUT"): API_ADMIN_CHANGE,
    # The walk's technician does not hold the walk's skill: nothing to read or take away.
    ("api_technicians.get_technician_skill", "GET"): dict(zip(ROLES, (401, 404, 404, 404, 404), strict=True)),
    ("api_technicians.remove_technician_skill", "DELETE"): dict(zip(ROLES, (401, 403, 403, 403, 404), strict=True)),
    ("api_technicians.set_availability", "PUT"): API_ADMIN_CHANGE,
}


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_expected(app, world, role):
    from app.models import Dispatch
    from app.services import api_tokens

    people, values = world
    values = {**values, "number": db.session.get(Dispatch, values["dispatch_id"]).dispatch_number}
    headers = {}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {api_tokens.create_token(people[role], 'walk').secret}"
    client = app.test_client()
    version = db.session.get(Dispatch, values["dispatch_id"]).version_id
    wrong = []
    for rule in rules(app):
        if not is_api(rule.endpoint):
            continue
        adapter = app.url_map.bind("localhost")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments}, method=method)
            kwargs = {} if method == "GET" else {"json": {}}
            response = client.open(url, method=method, headers=headers, **kwargs)
            response.close()
            expected = API_EXPECTED[(rule.endpoint, method)][role]
            if response.status_code != expected:
                wrong.append(f"{method} {url} ({rule.endpoint}) answered {response.status_code}, expected {expected}")
            if response.status_code >= 400 and response.mimetype != "application/problem+json":
                wrong.append(f"{method} {url} answered {response.status_code} as {response.mimetype}")
    assert wrong == []
    assert db.session.get(Dispatch, values["dispatch_id"]).version_id == version  # nothing changed
