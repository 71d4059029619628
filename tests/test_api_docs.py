"""docs/api.md cannot drift: every ``sh`` block runs with curl against a live server."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from app.services import api_tokens
from tests import matching_support as ms
from tests.factories import AdminFactory, AssetFactory, ManagerFactory, configured_truck_type

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_document_has_examples():
    assert len(sh_blocks()) >= 6


@pytest.fixture
def live(make_app):
    app = make_app(MOTORPOOL_API_TOKEN_LIMITS="1000 per minute", MOTORPOOL_API_ADDRESS_LIMITS="1000 per minute")
    with app.app_context():
        from app.services.actors import acting_as, system_user

        with acting_as(system_user()):
            db.session.commit()
            technician = ms.technician("Docs Tech")
            values = {
                "TOKEN": api_tokens.create_token(ManagerFactory(), "docs").secret,
                "TECH_TOKEN": api_tokens.create_token(technician, "docs").secret,
                "ADMIN_TOKEN": api_tokens.create_token(AdminFactory(), "docs").secret,
                "ASSET": str(AssetFactory(asset_type=configured_truck_type(), major_location=ms.location()).id),
                "TECHNICIAN": str(technician.id),
            }
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {**values, "BASE": f"http://127.0.0.1:{server.server_port}"}
    finally:
        server.shutdown()
        thread.join(5)


def test_every_example_runs_against_a_live_server(live):
    script = "set -eu\n" + "\n".join(f"echo '=== block {n}'\n{block}" for n, block in enumerate(sh_blocks()))
    result = subprocess.run(["bash", "-c", script], env={**live, "PATH": "/usr/bin:/bin"}, capture_output=True,
                            text=True, timeout=120)
    output = result.stdout
    assert result.returncode == 0, (result.stdout, result.stderr)
    blocks = output.split("=== block ")[1:]
    assert len(blocks) == len(sh_blocks())
    assert '"items"' in blocks[0] and "x-total-count: 0" in blocks[1].lower()
    assert '"number":"D-' in blocks[2] and "checklists" in blocks[2]
    assert "Brake check, front axle" in blocks[3] and '"Critical"' in blocks[3]
    assert '"allowed":["Assigned","Cancelled"]' in blocks[4] and '"status":409' in blocks[4]
    assert '"ok":false' in blocks[5] and "no dispatch D-2000-000001" in blocks[5]
    assert '"candidates"' in blocks[6] and '"mode":"auto"' in blocks[6] and '"total":1' in blocks[6]
    assert '"status":"En Route"' in blocks[7]
    assert '"answered":2' in blocks[8] and '"key":"truck_checklist"' in blocks[8]
    assert '"latitude":52.37' in blocks[9] and '"received_at"' in blocks[9]
    assert 'rel="next"' in blocks[10] and '"has_more"' in blocks[10]
    assert '"secret":"whsec_' in blocks[11]
    assert '"secret":"whsec_' in blocks[12] and '"event_type":"webhook.test"' in blocks[12]
    assert '"status":"pending","subscription_id"' in blocks[12] and '"status":4' not in blocks[12]
    assert '"status":422' in blocks[13] and "was not opened for reported defects" in blocks[13]
    assert '"database"' in blocks[14] and '"migrations"' in blocks[14]
    assert '"skills"' in blocks[15] and '"routing_speed"' in blocks[15] and '"status":4' not in blocks[15]
    assert '"items"' in blocks[16] and '"name":"East depot"' in blocks[16] and '"status":4' not in blocks[16]
    by_source = dict(zip(sh_blocks(), blocks, strict=True))
    assets = next(out for source, out in by_source.items() if '"TRK-0042' in source)
    assert '"asset_tag":"TRK-0042"' in assets and '"status":"In Service"' in assets and '"total":1' in assets
    detail_set = next(out for source, out in by_source.items() if "/detail-types/vehicle_dispatch" in source)
    added, switched_off = detail_set.strip().splitlines()[-2:]
    assert '"planned":["truck_checklist","vehicle_dispatch"]' in added
    assert '{"active":false,"key":"vehicle_dispatch"' in switched_off and '"planned":["truck_checklist"]' in switched_off
    users = next(out for source, out in by_source.items() if '"$BASE/api/v1/users"' in source)
    assert '"email":"rosa.ruiz@example.com"' in users and '"name":"Rosa Ruiz Diaz"' in users
    assert '"time_zone":"Europe/Madrid"' in users and "velvet" not in users
    skills = next(out for source, out in by_source.items() if '"$BASE/api/v1/skills"' in source)
    assert '"name":"Hydraulics"' in skills and '"total":' in skills and '"status":4' not in skills
    technicians = next(out for source, out in by_source.items() if "/technicians/$TECHNICIAN/availability" in source)
    assert '"hourly_rate":42.5' in technicians and '"level":4' in technicians and '"Training course"' in technicians
    assert '"availability":"Available"' in technicians and '"status":4' not in technicians
    assert "Internal Server Error" not in output and '"status":500' not in output
