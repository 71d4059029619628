"""Schemathesis against the live API: every operation in the OpenAPI document, for every role.

A real HTTP server (werkzeug, in a thread, on 127.0.0.1 only) serves the application on the
test database; schemathesis loads the served ``/api/v1/openapi.json`` and fuzzes each
operation it lists, so a resource added to ``app.api.RESOURCES`` is covered with no change
here. Each generated request is sent as a technician, a manager and an admin, and every
default check must pass: no 5xx, status codes and headers documented, bodies matching their
schemas, content types right, and a request the document calls valid is not refused with a 422
unless ``MAY_REFUSE`` says why the document cannot state that rule. The stateful phase then
follows the document's links (create a dispatch or a subscription, then read, change, move,
assign, rotate, test and retry it) with the ETags the answers gave. ``MOTORPOOL_SCHEMATHESIS_EXAMPLES``
sets the examples per operation, ``MOTORPOOL_SCHEMATHESIS_SCENARIOS`` the stateful scenarios
(docs/testing.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.serving import make_server

from app.extensions import db
from app.services import dispatches as dispatch_service
from tests import matching_support as ms
from tests.api_support import bearer, token_for
from tests.factories import AdminFactory, AssetFactory, DispatchFactory, ManagerFactory, configured_truck_type

EXAMPLES = int(os.environ.get("MOTORPOOL_SCHEMATHESIS_EXAMPLES", "25"))
SCENARIOS = int(os.environ.get("MOTORPOOL_SCHEMATHESIS_SCENARIOS", "20"))
ROLES = ("technician", "manager", "admin")
#: Operations where a request the document calls valid may still be a 422, and why: a rule that
#: depends on other records or on the clock, which OpenAPI cannot state. Every other rule is in
#: the document (lengths, patterns, enums, ranges, ``minProperties``, ``oneOf``), so any other
#: operation answering 422 to schema-valid input fails the test.
MAY_REFUSE = {
    "POST /api/v1/dispatches": "asset_id, major_location_id, required_skill name records that may not exist",
    "PATCH /api/v1/dispatches/{number}": "a finished dispatch's details no longer change",
    "POST /api/v1/dispatches/{number}/transitions": "a reason is needed to cancel; the technician must be free",
    "POST /api/v1/dispatches/{number}/assignment": "the technician may not exist or be eligible; an override needs a reason",
    "DELETE /api/v1/dispatches/{number}/assignment": "a reason is needed to take work back",
    "POST /api/v1/dispatches/{number}/decline": "only before starting",
    "PATCH /api/v1/dispatches/{number}/detail-rows/{detail_id}/items":
        "item names must be the checklist's own, each once; values as each item's kind reads",
    "POST /api/v1/dispatches/{number}/detail-rows/{detail_id}/defects":
        "the item must be one of the checklist's inspection items",
    "POST /api/v1/dispatches/{number}/detail-rows/{detail_id}/sign-off": "every required item answered first",
    "POST /api/v1/dispatches/{number}/repair-certification":
        "only a repair work order with defects waiting; repaired once it is completed",
    "PUT /api/v1/technicians/me/position": "recorded_at may be no more than a day old, relative to now",
    "GET /api/v1/events": "after must be a cursor the feed gave",
    "GET /api/v1/reports/analytics": "ids must name records; a custom range needs since/until, at most 366 days",
    "GET /api/v1/reports/metrics": "as analytics: ids must name records, a custom range needs since/until",
    "PATCH /api/v1/webhook-subscriptions/{subscription_id}": "a paused subscription cannot be paused again",
    "POST /api/v1/webhook-subscriptions/{subscription_id}/test-deliveries": "a paused subscription sends no test",
    "POST /api/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/retry":
        "only dead or waiting deliveries of an active subscription",
    "POST /api/v1/asset-types": "names are unique whatever the case",
    "PATCH /api/v1/asset-types/{asset_type_id}": "names are unique; in use types stay active",
    "POST /api/v1/make-models": "unique per make and model; asset_type_id must name a type",
    "PATCH /api/v1/make-models/{make_model_id}": "as creation; the type is fixed once assets use it",
    "POST /api/v1/locations": "names are unique whatever the case",
    "PATCH /api/v1/locations/{location_id}": "names are unique; in use locations stay active",
    "GET /api/v1/assets": "a filter's ids must name records",
    "POST /api/v1/assets": "tags are unique whatever the case; type, model and location must exist and be active",
    "PATCH /api/v1/assets/{asset_id}": "as creation; no reactivating an asset whose type, model or location is inactive",
    "POST /api/v1/asset-types/{asset_type_id}/detail-types": "a key a loaded plugin registers, once per set",
    "POST /api/v1/make-models/{make_model_id}/detail-types": "a key a loaded plugin registers, once per set",
    "PATCH /api/v1/asset-types/{asset_type_id}/detail-types/{key}": "on only while a loaded plugin provides it",
    "PATCH /api/v1/make-models/{make_model_id}/detail-types/{key}": "on only while a loaded plugin provides it",
    "POST /api/v1/users": "emails are unique whatever the case and shaped like one; the password rule",
    "PATCH /api/v1/users/{user_id}": "as creation; not your own role or account, not the last admin's",
    "GET /api/v1/technicians": "the skill filter's id must name a skill",
    "POST /api/v1/skills": "names are unique whatever the case",
    "PATCH /api/v1/skills/{skill_id}": "names are unique; no renaming a skill types or open dispatches name",
}


def valid_data_accepted(ctx, response, case):
    """Schemathesis's positive_data_acceptance, with 422 allowed only where ``MAY_REFUSE`` says why."""
    if response.status_code == 422 and case.operation.label in MAY_REFUSE:
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = {"excluded_checks": [positive_data_acceptance], "additional_checks": [valid_data_accepted]}


@pytest.fixture
def live_api(make_app) -> Iterator[dict]:
    """The application served on 127.0.0.1 with a few records and a token per role."""
    # Limits are tested on their own; fuzzing at full speed would only collect 429s.
    app = make_app(RATELIMIT_ENABLED=False)
    with app.app_context():
        from app.services.actors import acting_as, system_user

        with acting_as(system_user()):
            technician = ms.technician("Fuzz Tech")
            people = {"technician": technician, "manager": ManagerFactory(), "admin": AdminFactory()}
            asset = AssetFactory(asset_type=configured_truck_type())
            mine = DispatchFactory(asset=asset, title="Assigned to the technician")
            DispatchFactory(asset=asset, title="Waiting for someone")
            dispatch_service.assign(mine, technician)
            tokens = {role: token_for(user) for role, user in people.items()}
            db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "tokens": tokens}
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def api_schema(live_api):
    schema = schemathesis.openapi.from_url(f"{live_api['url']}/api/v1/openapi.json")
    schema.config.base_url = live_api["url"]
    # An If-Match that names another version is well formed but stale: a 412 is about the record's
    # state, never the request's shape, whatever the operation.
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "412"]
    return schema


def test_api_conforms_to_its_schema(api_schema, live_api):
    """Every operation, EXAMPLES generated requests each, sent as each role: all checks pass."""
    failures = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            for role in ROLES:
                case.call_and_validate(headers=bearer(live_api["tokens"][role]), timeout=30, **CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as failure:  # one operation's failures are reported with the others'
            failures[operation.label] = failure
    assert operations >= 2
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())


def test_may_refuse_names_only_served_operations(api_schema):
    """An allowance for an operation that is gone (or renamed) is dropped, not kept by accident."""
    served = {result.ok().label for result in api_schema.get_all_operations()}
    assert set(MAY_REFUSE) <= served, sorted(set(MAY_REFUSE) - served)


@pytest.mark.parametrize(("role", "resource", "links"), [("manager", "dispatches", 5),
                                                      ("admin", "webhook-subscriptions", 7)])
def test_api_links_hold_in_stateful_scenarios(api_schema, live_api, role, resource, links):
    """Follow the document's links from each creating answer, as ``role``: every step passes every check.

    One resource at a time: the fuzzer starts only from the creations it trusts most, and a
    dispatch's (whose asset_id no operation gives) would never be among them next to others.
    """
    token = live_api["tokens"][role]
    schema = api_schema.include(path_regex=f"^/api/v1/{resource}(/|$)")
    # The declared links only: links guessed from Location headers would spend the budget elsewhere.
    schema.config.phases.stateful.inference.algorithms = []
    base = schema.as_state_machine()
    assert schema.statistic.transitions.selected == links, "the document's links changed"

    class Scenarios(base):
        def get_call_kwargs(self, case):
            return {"headers": bearer(token), "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, transport_kwargs=kwargs or None, **CHECKS)

    Scenarios.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=6, deadline=None, database=None,
                                    derandomize=True, suppress_health_check=list(HealthCheck)))


#: (component, body, valid?) — what the document says of bodies the services refuse (and accept).
STATED_RULES = [
    ("DispatchCreate", {"title": "Brake check", "asset_id": 1}, True),
    ("DispatchCreate", {"title": "   ", "asset_id": 1}, False),
    ("DispatchCreate", {"title": "", "asset_id": 1}, False),
    ("DispatchUpdate", {"title": "Brake check"}, True),
    ("DispatchUpdate", {}, False),
    ("DispatchUpdate", {"title": " \t "}, False),
    ("DispatchUpdate", {"priority": "High"}, False),
    ("DispatchUpdate", {"priority_reason": "Customer waiting"}, False),
    ("DispatchUpdate", {"priority": "High", "priority_reason": "  "}, False),
    ("DispatchUpdate", {"priority": "High", "priority_reason": "Customer waiting"}, True),
    ("Assign", {"technician_id": 7}, True),
    ("Assign", {"automatic": True}, True),
    ("Assign", {}, False),
    ("Assign", {"automatic": False}, False),
    ("Assign", {"technician_id": 7, "automatic": True}, False),
    ("SubscriptionCreate", {"url": "https://hooks.example.com/mp?x=1", "event_types": ["alert.raised"]}, True),
    ("SubscriptionCreate", {"url": "https://user:pw@hooks.example.com:8443/mp", "event_types": ["alert.raised"]}, True),
    ("SubscriptionCreate", {"url": "ftp://hooks.example.com", "event_types": ["alert.raised"]}, False),
    ("SubscriptionCreate", {"url": "https://hooks.example.com:99999", "event_types": ["alert.raised"]}, False),
    ("SubscriptionCreate", {"url": "https://hooks.example.com/a b", "event_types": ["alert.raised"]}, False),
    ("SubscriptionUpdate", {}, False),
    ("Certification", {"outcome": "repaired"}, True),
    ("Certification", {"outcome": "no repair needed", "notes": "Could not reproduce"}, True),
    ("Certification", {"outcome": "no repair needed"}, False),
    ("Certification", {"outcome": "no repair needed", "notes": "  "}, False),
    ("Certification", {"outcome": "no repair needed", "notes": None}, False),
]


@pytest.fixture(scope="module")
def served_components():
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]


@pytest.mark.parametrize(("component", "body", "valid"), STATED_RULES)
def test_the_document_states_the_services_rules(served_components, component, body, valid):
    """A body the service refuses for its shape alone is one the served document calls invalid."""
    import jsonschema

    validator = jsonschema.Draft4Validator(served_components[component])
    assert validator.is_valid(body) is valid, list(validator.iter_errors(body))


def test_the_id_pattern_admits_exactly_the_ids_a_column_holds():
    import re

    from app.api.schemas import ID_TEXT, up_to
    from app.services.numbers import DB_INT_MAX

    for number in (1, 9, 10, 99, 1_000_000_000, 1_999_999_999, 2_147_483_599, DB_INT_MAX):
        assert re.fullmatch(ID_TEXT, str(number)), number
    for text in ("0", "01", "-1", "+1", "1.0", str(DB_INT_MAX + 1), "2147483650", "2200000000", "9999999999"):
        assert not re.fullmatch(ID_TEXT, text), text
    for limit in (1, 9, 10, 57, 100, 70_345):
        pattern = re.compile(f"^{up_to(limit)}$")
        assert [n for n in range(limit * 2 + 20) if pattern.match(str(n))] == list(range(1, limit + 1)), limit
