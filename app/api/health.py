"""``/api/v1/health``: the admin health details (``health.details``), as Admin → Health shows them.

``/healthz`` stays the public liveness probe; this one is for admins and says what needs
attention: the database, migrations, scheduled jobs, the delivery backlog, plugin errors.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.auth import require
from app.api.problems import refusals
from app.models import Role
from app.services import health

blp = Blueprint("api_health", __name__, description="Health details for admins.")
URL_PREFIX = "/health"


class DatabaseSchema(Schema):
    ok = fields.Boolean(required=True)
    latency_ms = fields.Float(allow_none=True, required=True)
    dialect = fields.String(required=True)
    error = fields.String(allow_none=True, required=True)


class MigrationsSchema(Schema):
    at_head = fields.Boolean(required=True)
    current = fields.List(fields.String(), required=True)
    heads = fields.List(fields.String(), required=True)


class JobSchema(Schema):
    name = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    last_started = fields.DateTime(allow_none=True, required=True)
    last_outcome = fields.String(allow_none=True, required=True)
    last_summary = fields.String(allow_none=True, required=True)
    next_run = fields.DateTime(allow_none=True, required=True)


class DeliveriesSchema(Schema):
    pending = fields.Integer(required=True)
    sending = fields.Integer(required=True)
    dead = fields.Integer(required=True)
    oldest_due = fields.DateTime(allow_none=True, required=True)


class PluginErrorSchema(Schema):
    plugin = fields.String(required=True)
    error = fields.String(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, or attention when problems is not empty."})
    checked_at = fields.DateTime(required=True)
    problems = fields.List(fields.String(), required=True)
    database = fields.Nested(DatabaseSchema, required=True)
    migrations = fields.Nested(MigrationsSchema, allow_none=True, required=True)
    jobs = fields.List(fields.Nested(JobSchema), required=True)
    deliveries = fields.Nested(DeliveriesSchema, allow_none=True, required=True)
    plugin_errors = fields.List(fields.Nested(PluginErrorSchema), required=True)


@blp.route("", methods=["GET"])
@require(Role.ADMIN.value)
@blp.response(200, HealthSchema)
@refusals(blp, 401, 403, 429)
def get_health():
    """What needs an admin's attention, with each part's figures."""
    report = health.details()
    database = report.database
    migrations = report.migrations
    deliveries = report.deliveries
    return {
        "status": "attention" if report.problems else "ok",
        "checked_at": report.checked_at,
        "problems": report.problems,
        "database": {"ok": database.ok, "latency_ms": database.latency_ms, "dialect": database.dialect,
                     "error": database.error},
        "migrations": None if migrations is None else {
            "at_head": migrations.at_head, "current": sorted(migrations.current), "heads": sorted(migrations.heads)},
        "jobs": [vars(job) for job in report.jobs],
        "deliveries": None if deliveries is None else {
            "pending": deliveries.pending, "sending": deliveries.sending, "dead": deliveries.dead,
            "oldest_due": deliveries.oldest_due},
        "plugin_errors": [{"plugin": name, "error": error} for name, error in report.plugin_errors],
    }
