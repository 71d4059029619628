"""Admin pages: the asset register, users, technician profiles, detail sets and plugins.

The routes live in one module per topic (assets, users, detail_sets, plugins); this one
holds the index that links to them.
"""

from flask import render_template

from app.blueprints.admin import bp
from app.blueprints.security import roles_required

SECTIONS = [
    ("Asset types", "admin.asset_types", "Kinds of asset and the checklists their dispatches get."),
    ("Makes and models", "admin.make_models", "Models of each type, and the extra checklists a model adds."),
    ("Assets", "admin.assets", "The fleet register: tags, types, models, locations, odometers."),
    ("Locations", "admin.locations", "Depots, yards and sites that assets are based at."),
    ("Import and export", "admin.fleet_import", "The fleet as CSV files: templates, a checked import, an export."),
    ("Users", "admin.users", "Accounts, roles and who may sign in."),
    ("Sign-in activity", "admin.sign_in_activity", "Failed and blocked sign-ins, sign-outs and ended sessions."),
    ("Technician profiles", "admin.technicians", "Rates, shifts, limits, skills and availability for matching."),
    ("Plugins", "admin.plugins", "What is loaded; enable or disable a plugin for the next start."),
    ("Alerting", "alerts.settings", "Thresholds of every alert check, quiet hours, suppression and escalation."),
    ("Scheduler", "admin.scheduler", "Scheduled jobs: their times, running one now, and how the recent runs went."),
    ("Notification channels", "admin.channels", "Each channel on or off, its minimum severity, categories and recipients."),
    ("Delivery log", "admin.deliveries", "Every notification sent or waiting, dead letters and retry now."),
    ("Health", "admin.health_page", "Database latency, migrations, the scheduler's last runs, the delivery backlog "
                                    "and plugin errors."),
    ("Webhooks", "admin.webhooks", "Integrations' URLs and the events each is sent, signed; their delivery logs."),
]


@bp.get("/")
@roles_required("admin")
def index():
    return render_template("admin/index.html", sections=SECTIONS)
