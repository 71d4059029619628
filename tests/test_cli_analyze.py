"""``flask analyze``: the same figures as ``/dashboard/assignments`` and ``metrics``, as text, JSON
or CSV, against the hand-computed world of tests/analytics_support.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import os
from urllib.parse import urlencode

import pytest

from app.services import analytics, metrics
from app.services.actors import acting_as
from tests import analytics_support as world_support
from tests.analytics_support import RANGE
from tests.dispatch_pages_support import login
from tests.factories import ManagerFactory

SINCE, UNTIL = ("--since", "2026-06-10"), ("--until", "2026-06-11")


@pytest.fixture
def manager(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


@pytest.fixture
def world(manager):
    return world_support.build_world()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def run(runner, *args: str):
    result = runner.invoke(args=["analyze", *args])
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def document(runner, *args: str) -> dict:
    return json.loads(run(runner, *SINCE, *UNTIL, "--format", "json", *args).stdout)


def rows(doc: dict, name: str) -> list[list]:
    section = doc["sections"][name]
    return [[row[column] for column in section["columns"]] for row in section["rows"]]


def refused(runner, *args: str) -> str:
    """A refused run: exit status 2, nothing on stdout, the reason on stderr."""
    result = runner.invoke(args=["analyze", *args])
    assert result.exit_code == 2, (result.output, result.stderr)
    assert result.stdout == ""
    return " ".join(result.stderr.split())


def cells(values: list) -> list[str]:
    """Values as the page's CSV downloads write them."""
    return ["" if value is None else str(value) for value in values]


def test_json_figures_are_the_pages_figures_for_the_same_range(app, world, manager, runner):
    client = app.test_client()
    login(client, manager)
    for extra, options in (({}, ()), ({"location": world.north.id}, ("--location", "north")),
                           ({"technician": world.ben.id}, ("--technician", "BEN"))):
        doc = document(runner, *options)
        for name in analytics.TABLES:
            download = client.get(f"/dashboard/assignments/{name}.csv?" + urlencode({**RANGE, **extra}))
            assert download.status_code == 200
            page_rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
            assert page_rows[0] == doc["sections"][name]["columns"], name
            assert page_rows[1:] == [cells(row) for row in rows(doc, name)], (name, extra)
    doc = document(runner)
    window = analytics.AnalyticsFilters.from_args(RANGE).metric_window
    speed, sla = metrics.routing_speed(window), metrics.sla_compliance(window)
    assert rows(doc, "routing") == [[speed.assignments, speed.p50_seconds, speed.p95_seconds, speed.worst_seconds,
                                     speed.waiting_over]]
    assert rows(doc, "sla") == [[sla.completed, sla.within_sla, round(sla.rate, 2), sla.open_past_sla]]
    assert rows(doc, "burnout") == [[metrics.burnout(window).assessed, metrics.burnout(window).at_risk]]


def test_the_hand_computed_figures(app, world, runner):
    doc = document(runner)
    assert doc["range"]["since"] == "2026-06-10" and doc["range"]["until"] == "2026-06-11"
    assert rows(doc, "priority") == [["Critical", 1], ["High", 1], ["Normal", 2], ["Low", 1]]
    # Hydraulics: d1 Ann, d2 Ben (lacks it), d5 Cy; Electrical: d3 Ben. Three of four match.
    assert rows(doc, "skill-match") == [[4, 3, 75.0]]
    assert rows(doc, "skills")[0] == ["Hydraulics", 3, 3, 2, 66.67, 2]
    assert rows(doc, "workload")[-1] == ["nobody", None, 1, 0, 0, None]  # d4
    # r1..r4 in the range, 60 s each; r0 (before the range) left out.
    assert rows(doc, "routing") == [[4, 60.0, 60.0, 60.0, rows(doc, "routing")[0][4]]]
    assert rows(doc, "cost") == [[4, 250.0, 62.5, 100.0, metrics.DEFAULT_COST_LIMIT, 0]]
    # Labour, overtime, travel, not split (r4 has no parts); each row's parts add up to its total.
    assert rows(doc, "cost-priority") == [["Critical", 1, 100.0, 100.0, 60.0, 30.0, 10.0, 0.0],
                                          ["High", 1, 50.0, 50.0, 40.0, 0.0, 10.0, 0.0],
                                          ["Normal", 2, 100.0, 50.0, 50.0, 15.0, 5.0, 30.0]]
    # Completed in the range: d0 (late), d1 (met), d2 (late).
    assert rows(doc, "sla")[0][:3] == [3, 1, 33.33]
    assert rows(doc, "sla-day") == [["2026-06-10", 2, 1, 50.0], ["2026-06-11", 1, 0, 0.0]]
    assert doc["sections"]["routing"]["note"] is None


def test_filters_by_name_narrow_the_metrics_too(app, world, runner):
    doc = document(runner, "--asset-type", "VAN", "--skill", "electrical")
    assert doc["range"]["asset_type"] == "Van" and doc["range"]["skill"] == "Electrical"
    assert rows(doc, "priority") == [["Critical", 0], ["High", 0], ["Normal", 1], ["Low", 0]]  # d3
    # d3's record r3 alone (70, routed in 60 s); d4 waits but needs no skill.
    assert rows(doc, "routing") == [[1, 60.0, 60.0, 60.0, 0]]
    assert rows(doc, "cost") == [[1, 70.0, 70.0, 70.0, metrics.DEFAULT_COST_LIMIT, 0]]
    assert rows(doc, "sla")[0][:3] == [0, 0, None]
    assert doc["sections"]["routing"]["note"] is None
    # Burnout is a technician's: no figure, and the reason instead.
    assert rows(doc, "burnout") == [] and rows(doc, "burnout-technicians") == []
    assert "cannot be narrowed by asset type, skill" in doc["sections"]["burnout"]["note"]


def test_the_technician_filter_narrows_every_metric(app, world, runner):
    doc = document(runner, "--technician", "ben")
    assert rows(doc, "routing") == [[2, 60.0, 60.0, 60.0, 0]]  # r2, r3
    assert rows(doc, "cost") == [[2, 120.0, 60.0, 70.0, metrics.DEFAULT_COST_LIMIT, 0]]
    assert rows(doc, "sla")[0][:3] == [1, 0, 0.0]  # d2, late
    assert rows(doc, "burnout") == [[1, 0]] and doc["sections"]["burnout"]["note"] is None


def test_page_command_and_api_agree_for_a_filtered_range(app, world, manager, runner):
    """The page's cost and SLA tables, the command's metrics and the API's, for the same filters."""
    from tests.api_support import bearer, token_for

    client = app.test_client()
    login(client, manager)
    for extra, options in (({"location": world.north.id}, ("--location", "North")),
                           ({"skill": _skill_id("Hydraulics")}, ("--skill", "hydraulics")),
                           ({"asset_type": world.van.id}, ("--asset-type", "van")),
                           ({"technician": world.ben.id}, ("--technician", "Ben"))):
        doc = document(runner, *options)
        query = urlencode({**RANGE, **extra})
        api = client.get(f"/api/v1/reports/metrics?{query}", headers=bearer(token_for(manager))).get_json()
        page_cost = list(csv.DictReader(io.StringIO(
            client.get(f"/dashboard/assignments/cost-priority.csv?{query}").get_data(as_text=True))))
        page_sla = list(csv.DictReader(io.StringIO(
            client.get(f"/dashboard/assignments/sla-priority.csv?{query}").get_data(as_text=True))))
        assignments, total, *_ = rows(doc, "cost")[0]
        assert assignments == api["operational_cost"]["assignments"] == sum(
            int(row["assignments"]) for row in page_cost), extra
        assert total == api["operational_cost"]["total"] == round(sum(float(row["total cost"]) for row in page_cost), 2)
        completed, within, _, past = rows(doc, "sla")[0]
        assert completed == api["sla_compliance"]["completed"] == sum(int(row["completed"]) for row in page_sla)
        assert within == api["sla_compliance"]["within_sla"] == sum(int(row["within SLA"]) for row in page_sla)
        assert past == api["sla_compliance"]["open_past_sla"]
        assert rows(doc, "routing")[0][0] == api["routing_speed"]["assignments"]
        assert rows(doc, "routing")[0][4] == api["routing_speed"]["waiting_over"]
        if "technician" in extra:
            assert rows(doc, "burnout") == [[api["burnout"]["assessed"], api["burnout"]["at_risk"]]]
        else:
            assert api["burnout"] is None and api["not_narrowable"]["burnout"] == doc["sections"]["burnout"]["note"]


def _skill_id(name: str) -> int:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Skill

    return db.session.scalar(select(Skill.id).where(Skill.name == name))


def test_text_and_csv_show_every_table(app, world, runner):
    text = run(runner, *SINCE, *UNTIL).stdout
    assert text.startswith("Assignment analytics, 2026-06-10 to 2026-06-11 (UTC)")
    for title in ("Dispatches by priority", "Skill demand", "Skill match rate", "Workload per technician",
                  "Routing speed", "Operational cost per assignment", "SLA compliance", "Burnout risk"):
        assert title in text, title
    assert "Hydraulics" in text and "75.00" in text
    blocks = run(runner, *SINCE, *UNTIL, "--format", "csv").stdout.split("\n\n")  # the runner reads CRLF as LF
    parsed = [list(csv.reader(io.StringIO(block))) for block in blocks if block.strip()]
    titles = [block[0][0] for block in parsed]
    assert titles[0] == "range" and "Dispatches by priority" in titles and "Routing speed (creation to assignment)" in titles
    priority = parsed[titles.index("Dispatches by priority")]
    assert priority[1:] == [["priority", "dispatches"], ["Critical", "1"], ["High", "1"], ["Normal", "2"], ["Low", "1"]]


def test_output_file_and_a_long_range_keep_the_document_clean(app, world, runner, tmp_path):
    target = tmp_path / "year.json"
    result = run(runner, "--since", "2025-06-12", "--until", "2026-06-11", "--format", "json",
                 "--output", str(target))
    assert result.stdout == "" and "Wrote the analytics" in result.stderr
    doc = json.loads(target.read_text())  # nothing but the document in the file
    assert len(rows(doc, "sla-day")) == 365
    assert rows(doc, "priority") == [["Critical", 1], ["High", 2], ["Normal", 2], ["Low", 1]]  # d0 too
    assert [name for name in os.listdir(tmp_path)] == ["year.json"]


def test_empty_data_gives_empty_tables_and_no_rates(app, runner):
    doc = document(runner)
    assert rows(doc, "priority") == [["Critical", 0], ["High", 0], ["Normal", 0], ["Low", 0]]
    assert rows(doc, "skill-match") == [[0, 0, None]]
    assert rows(doc, "routing") == [[0, None, None, None, 0]]
    assert rows(doc, "sla")[0][:3] == [0, 0, None]
    assert rows(doc, "burnout-technicians") == [] and rows(doc, "recent") == []
    assert "no data" in run(runner, *SINCE, *UNTIL).stdout


@pytest.mark.parametrize(("args", "says"), [
    (("--since", "2026-06-11", "--until", "2026-06-10"),
     "until (2026-06-10) is before --since (2026-06-11); choose an until on or after since."),
    (("--since", "10/06/2026", "--until", "2026-06-11"), "'10/06/2026' is not a date: write it as YYYY-MM-DD"),
    (("--since", "2024-01-01", "--until", "2026-06-11"), "choose at most 366 days"),
    (("--location", "Atlantis"), "There is no location named 'Atlantis': check the spelling"),
    (("--technician", "Nobody"), "There is no technician named 'Nobody'"),
    (("--skill", " "), "--skill is empty"),
    (("--format", "xml"), "'xml' is not one of 'text', 'json', 'csv'"),
])
def test_bad_input_is_refused_with_how_to_fix_it(app, world, runner, args, says):
    assert says in refused(runner, *args)


def test_an_unwritable_output_is_refused_before_anything_is_written(app, world, runner, tmp_path):
    assert "does not exist; create it" in refused(runner, "--output", str(tmp_path / "missing" / "a.json"))
    assert "is a folder" in refused(runner, "--output", str(tmp_path))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root can write anywhere; the check is then moot
            assert "cannot be written" in refused(runner, "--output", str(locked / "a.json"))
    finally:
        locked.chmod(0o700)
    if os.path.isdir("/proc"):  # a folder nobody can create files in, root included
        assert "cannot be written" in refused(runner, "--output", "/proc/motorpool-analyze.json")
    assert "not a date" in refused(runner, "--since", "soon", "--output", str(tmp_path / "b.json"))
    assert os.listdir(tmp_path) == ["locked"] and os.listdir(locked) == []
