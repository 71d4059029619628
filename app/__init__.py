"""Motorpool: work orders (dispatches) for fleets of assets."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app import config as settings
from app.extensions import csrf, db, htmx, login_manager, migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance config, environment, then ``test_config``."""
    from app.blueprints.inputs import DatabaseIdConverter

    app = Flask(__name__, instance_relative_config=True)
    # Every <int:…> in a URL, plugins' included: canonical ASCII digits within INTEGER, else 404.
    app.url_map.converters["int"] = DatabaseIdConverter
    os.makedirs(app.instance_path, exist_ok=True)

    app.config.from_mapping(settings.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(settings.from_environment(os.environ))
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", settings.default_database_url(app.instance_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["MOTORPOOL_CURRENCY"] = settings.check_currency(app.config["MOTORPOOL_CURRENCY"])
    app.config["MOTORPOOL_TIMEZONE"] = settings.check_timezone(app.config["MOTORPOOL_TIMEZONE"])
    settings.check_channels(app.config)
    settings.check_alert_settings(app.config)
    settings.check_metric_settings(app.config)
    settings.check_schedules(app.config)
    settings.check_delivery(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.load_secret_key(app.instance_path)

    register_extensions(app)
    register_cli(app)  # before the plugins, so that a plugin command cannot shadow a core one
    register_plugins(app, given=set(test_config or ()))
    check_channel_settings(app)
    register_blueprints(app)  # core first, then plugins': a plugin cannot take a core route
    register_security(app)
    register_error_handlers(app)
    return app


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers work while a writer commits; the busy timeout makes concurrent
    # writers wait for each other instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def register_extensions(app: Flask) -> None:
    from app.services import session_hooks

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
            event.listen(engine, "connect", _sqlite_pragmas)
    session_hooks.install()

    from app.services import auth_sessions, sign_in_throttle

    # The cookie names a server-side session row; the row decides (and a deactivated user
    # is signed out at their next request).
    login_manager.user_loader(auth_sessions.user_for_request)
    app.before_request(auth_sessions.touch_current_session)
    sign_in_throttle.init_app(app)


def _blocked_plugins(app: Flask) -> set[str]:
    """Plugins switched off by configuration or in the plugin table (read once, at start)."""
    from app.models import PluginSetting

    from app.services.plugins import ESSENTIAL

    blocked = {name.strip() for name in app.config["MOTORPOOL_DISABLED_PLUGINS"].split(",") if name.strip()}
    for name in sorted(blocked & ESSENTIAL):
        logger.warning("plugin %s provides core behaviour and stays enabled (MOTORPOOL_DISABLED_PLUGINS)", name)
    blocked -= ESSENTIAL
    with app.app_context():
        try:
            if inspect(db.engine).has_table(PluginSetting.__tablename__):
                blocked |= set(db.session.scalars(select(PluginSetting.name).where(PluginSetting.enabled.is_(False))))
        except OperationalError as error:
            # The first connection of every process (web server, scheduler, `flask doctor`):
            # without the table we cannot know which plugins an admin switched off, so the
            # process stops — with one line saying what to do, not a driver traceback.
            raise DatabaseUnreachable(db.engine.url, error) from None
        finally:
            db.session.remove()
    return blocked


class DatabaseUnreachable(SystemExit):
    """Start-up refused: the database does not answer (exit status 1, the message on stderr)."""

    def __init__(self, url: Any, error: Exception) -> None:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        super().__init__(
            f"Motorpool cannot start: cannot connect to the database {url.render_as_string(hide_password=True)}: "
            f"{reason} — start the database server, or set DATABASE_URL to one that answers; "
            "then `flask doctor` checks the rest.")


def register_plugins(app: Flask, given: set[str] | None = None) -> None:
    """Load plugins and collect what they contribute into the app's registries.

    ``given`` names the settings passed to ``create_app``, which win over the environment
    for plugin settings as they do for core's. Each plugin's record notes what it provides.
    """
    from app.models.dispatching.build import EXTENSION_KEY as DETAIL_TYPES_KEY
    from app.models.dispatching.build import build_detail_type_registry
    from app.plugins.manager import load_plugins
    from app.plugins.settings import EXTENSION_KEY as SETTINGS_KEY
    from app.plugins.settings import apply_plugin_settings
    from app.services.matching import DISTANCE_KEY, MATCHERS_KEY
    from app.services.notifications import EXTENSION_KEY as NOTIFIERS_KEY
    from app.services.alert_checks import EXTENSION_KEY as ALERT_CHECKS_KEY

    system = load_plugins(app, _blocked_plugins(app))

    def skip(what: str) -> Any:
        def on_error(plugin: str, error: Exception) -> None:
            logger.error("plugin %s: %s; the %s was left out", plugin, error, what)
            system.records[plugin].error = str(error)
        return None if system.strict else on_error

    # Inside an application context, so that hooks can read settings (current_app.config);
    # settings first, so that the other hooks find them.
    with app.app_context():
        core_names = set(settings.DEFAULTS) | set(app.default_config) | {"SQLALCHEMY_DATABASE_URI"}
        declared = apply_plugin_settings(
            app, system.call_each("motorpool_settings"), os.environ, given or set(), core_names, skip("setting")
        )
        app.extensions[SETTINGS_KEY] = declared
        for name, item in declared.items():
            system.records[item.plugin].provide("settings", name)

        registry = build_detail_type_registry(system.call_each("motorpool_dispatch_detail_types"), skip("detail type"))
        app.extensions[DETAIL_TYPES_KEY] = registry
        for detail_type in registry:
            system.records[detail_type.plugin].provide("detail types", f"{detail_type.label} ({detail_type.table_name})")
        app.extensions[MATCHERS_KEY] = _named(system, "motorpool_matchers", "matcher", "matchers")
        app.extensions[NOTIFIERS_KEY] = _named(system, "motorpool_notifiers", "notifier", "notification channels")
        app.extensions[ALERT_CHECKS_KEY] = _alert_checks(system)
        provider = system.first_result("motorpool_distance_provider")
        app.extensions[DISTANCE_KEY] = provider[1] if provider else None
        if provider:
            system.records[provider[0]].provide("distance provider", type(provider[1]).__name__)

        for plugin, commands in system.call_each("motorpool_cli_commands"):
            for command in commands:
                if command.name in app.cli.commands:
                    app.logger.error("plugin %s: command %r already exists and was not added", plugin, command.name)
                    continue
                app.cli.add_command(command)
                system.records[plugin].provide("commands", f"flask {command.name}")


def check_channel_settings(app: Flask) -> None:
    """An active built-in channel (email, webhook, …) without its required settings stops start-up."""
    from app.services.notifications import EXTENSION_KEY as NOTIFIERS_KEY

    builtin = {name for name, notifier in app.extensions[NOTIFIERS_KEY].items()
               if type(notifier).__module__.startswith("app.plugins.builtin.")}
    settings.check_required_channel_settings(app.config, settings.active_notifiers(app.config) & builtin)


def _alert_checks(system: Any) -> dict[str, Any]:
    """The metrics the alert check watches, by category; a category already taken is refused."""
    from app.services.alert_checks import refusal

    checks: dict[str, Any] = {}
    for plugin, items in system.call_each("motorpool_alert_checks"):
        for check in items:
            problem = refusal(check, checks)
            if problem:
                logger.error("plugin %s: alert check %r refused: %s", plugin, getattr(check, "category", check), problem)
                continue
            checks[check.category] = check
            system.records[plugin].provide("alert checks", check.category)
    return checks


#: Names no plugin may take: ``subscription`` is the webhook subscriptions' channel, which
#: routing must never send a notification to.
RESERVED_NAMES = {"motorpool_notifiers": frozenset({"subscription"})}


def _named(system: Any, hook: str, what: str, kind: str) -> dict[str, Any]:
    """Merge ``{name: object}`` contributions; the first plugin to claim a name keeps it."""
    merged: dict[str, Any] = {}
    reserved = RESERVED_NAMES.get(hook, frozenset())
    for plugin, mapping in system.call_each(hook):
        for name, obj in dict(mapping).items():
            if name in reserved:
                logger.warning("plugin %s: %s %r is a name Motorpool keeps for itself; ignored", plugin, what, name)
                continue
            if name in merged:
                logger.warning("plugin %s: %s %r is already provided; ignored", plugin, what, name)
                continue
            merged[name] = obj
            system.records[plugin].provide(kind, name)
    return merged


def register_blueprints(app: Flask) -> None:
    from app.blueprints.navigation import navigation_links
    from app.blueprints.account import bp as account_bp
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.alerts import bp as alerts_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.checklists import bp as checklists_bp
    from app.blueprints.dispatches import bp as dispatches_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.notifications import bp as notifications_bp
    from app.blueprints.reports import bp as reports_bp
    from app.blueprints.dashboards import bp as dashboards_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(dispatches_bp)
    app.register_blueprint(checklists_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(dashboards_bp)
    from app.models import utcnow

    from app.blueprints.security import static_url
    from app.blueprints.formatting import register as register_formatting

    register_formatting(app)

    from app.blueprints.maps import map_url

    app.context_processor(lambda: {"navigation_links": navigation_links, "utcnow": utcnow, "static_url": static_url})
    # Globals, not context: the macros in _macros.html are imported without the page's context.
    app.jinja_env.globals.update(static_url=static_url, map_url=map_url)
    from app.api import init_api

    init_api(app)
    register_plugin_blueprints(app)


def register_plugin_blueprints(app: Flask) -> None:
    """Plugin pages, after core's; a blueprint that clashes is logged and left out."""
    from app.plugins.manager import plugin_system

    system = plugin_system(app)
    core_rules = {rule.rule for rule in app.url_map.iter_rules()}
    for plugin, blueprints in system.call_each("motorpool_blueprints"):
        for blueprint in blueprints:
            try:
                app.register_blueprint(blueprint)
            except Exception as error:
                if system.strict:
                    raise
                logger.exception("plugin %s: blueprint %r was not registered", plugin, blueprint.name)
                system.records[plugin].error = f"blueprint {blueprint.name!r}: {error}"
                continue
            prefix = blueprint.url_prefix or "/"
            system.records[plugin].provide("blueprints", f"{blueprint.name} ({prefix})")
            taken = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{blueprint.name}.")
                     and r.rule in core_rules]
            if taken:
                logger.warning("plugin %s: routes %s are already core routes; core keeps them", plugin, taken)


@migrate.configure
def _plugin_migration_branches(config: Any) -> Any:
    """Alembic sees core's versions plus every installed plugin's own branch."""
    from flask import current_app

    from app.plugins.manager import plugin_system

    locations = [str(MIGRATIONS_DIR / "versions")]
    for _plugin, directories in plugin_system(current_app).call_each("motorpool_migration_directories", installed=True):
        locations.extend(str(Path(directory)) for directory in directories)
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


def register_security(app: Flask) -> None:
    from app.blueprints.inputs import refuse_control_characters
    from app.blueprints.security import add_security_headers

    app.before_request(refuse_control_characters)
    app.after_request(add_security_headers)
    from app.services import health

    health.register(app)


def register_error_handlers(app: Flask) -> None:
    from app.blueprints.errors import register

    register(app)


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)
