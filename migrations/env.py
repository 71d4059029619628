"""Alembic environment for Flask-Migrate: the app's engine and metadata, SQLite-safe batch mode."""

import logging
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from flask import current_app

config = context.config

if config.config_file_name is not None:
    # Keep the application's loggers working when migrations run inside it (tests, CLI).
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Render Motorpool's UTCDateTime as a plain DateTime, so migrations import nothing of the app."""
    from app.models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(migration_context, revision, directives):
        script = directives[0]
        # Flask-Migrate has no --depends-on; a plugin's branch names the core revision its
        # tables need with -x depends_on=REV, so that `flask db upgrade` creates core first.
        depends_on = context.get_x_argument(as_dictionary=True).get("depends_on")
        if depends_on:
            script.depends_on = depends_on
        elif script.head == "base":  # a new root: a plugin branch starting here
            raise CommandError(
                "A new migration branch must say which core revision its tables need: "
                "add -x depends_on=0001_initial (or a later core revision) after 'flask db'."
            )
        # Do not write an empty migration when nothing changed.
        if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)

    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
