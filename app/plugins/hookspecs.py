"""Every hook a Motorpool plugin can implement.

Hook names all start with ``motorpool_``. Unless a hook says *first result wins*, every
enabled plugin's implementation is called and the non-``None`` results are collected.
Built-in implementations are marked ``trylast`` so that an installed plugin's comes first.

Calls are isolated per plugin: an implementation that raises is logged with its plugin's
name and skipped (``MOTORPOOL_STRICT_PLUGINS`` makes it raise instead).

Lifecycle hooks (``motorpool_dispatch_*``) fire *after* the transaction that made the change
has committed, so a failing plugin can neither block nor roll back the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from app.plugins import hookspec

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from app.models import Dispatch, User
    from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual
    from app.models.dispatching.dispatch_metric import DispatchMetric
    from app.plugins.contracts import AlertCheck, DistanceProvider, Matcher, NavLink, Notifier, Setting


# --- Configuration ------------------------------------------------------------------------


@hookspec
def motorpool_settings() -> Sequence[Setting]:
    """Declare the plugin's settings.

    Returns: ``app.plugins.contracts.Setting(name, default, type, help)`` items. Names start
    with ``MOTORPOOL_PLUGIN_<PLUGIN NAME>_`` (``app.plugins.settings.prefix_for``); ``type``
    is ``str``, ``int``, ``float`` or ``bool``. All results are collected. Each value comes
    from, highest first: the mapping given to ``create_app``, the environment variable of
    that name, ``instance/config.py``, the default; it is converted to the type and put in
    ``app.config`` (read it with ``app.plugins.settings.plugin_setting(name)``). A value
    that does not convert stops start-up with a message naming the setting; a name without
    the prefix, or declared twice, is refused like any broken contribution.

    Fires: once, while the application is created, before every other hook.
    """


# --- Data model ---------------------------------------------------------------------------


@hookspec
def motorpool_dispatch_detail_types() -> Sequence[type[DispatchDetailVirtual]]:
    """Contribute dispatch detail (checklist) types.

    Returns: ``DispatchDetailVirtual`` subclasses, each with a unique ``detail_type`` key and
    a ``label``. All results are collected.

    Fires: once, while the application is created. The types can then be configured for
    asset types and make/models, and are created on every new dispatch configured with them.
    """


@hookspec
def motorpool_migration_directories() -> Sequence[str]:
    """Contribute Alembic version directories holding the plugin's own migration branch.

    Returns: absolute paths. All results are collected. Each directory's first revision
    should have ``down_revision = None``, a ``branch_labels`` tuple naming the plugin and
    ``depends_on = "0001_initial"`` (or a later core revision it needs); ``flask db -x
    depends_on=0001_initial migrate --head base --branch-label NAME --version-path DIR``
    writes it (see docs/plugins.md, "Your first plugin").

    Fires: whenever Alembic is configured (``flask db upgrade`` and friends). It is asked of
    every *installed* plugin, enabled or not, so that disabling a plugin never hides
    migrations the database already has.
    """


# --- Matching -----------------------------------------------------------------------------


@hookspec
def motorpool_matchers() -> Mapping[str, Matcher]:
    """Contribute named matching strategies.

    Returns: a mapping of matcher name to a ``Matcher`` (see ``app.plugins.contracts``).
    All results are collected; a name provided twice keeps the first plugin's.

    Fires: once, while the application is created. The setting ``MOTORPOOL_MATCHER``
    chooses the active matcher (default ``weighted``). A matcher that raises while ranking
    falls back to the built-in ``weighted`` matcher and the fallback is recorded.
    """


@hookspec(firstresult=True)
def motorpool_distance_provider() -> DistanceProvider | None:
    """Provide the distance and travel-time provider. *First result wins.*

    Returns: a ``DistanceProvider`` (see ``app.plugins.contracts``), or ``None`` to let the
    next plugin decide. The built-in Haversine provider answers last.

    Fires: once, while the application is created.
    """


# --- Notifications ------------------------------------------------------------------------


@hookspec
def motorpool_notifiers() -> Mapping[str, Notifier]:
    """Contribute named notification channels.

    Returns: a mapping of channel name to a ``Notifier``. All results are collected.

    Fires: once, while the application is created. The setting ``MOTORPOOL_NOTIFIERS``
    (comma-separated names, default ``console,log_file,in_app``) chooses the active channels, and
    admins route each on ``/admin/channels``. ``send(notification, attempt)`` is called by
    the delivery worker, outside any transaction; raising retries it with backoff,
    ``PermanentDeliveryError`` makes it dead at once. One channel's failure never touches
    the others nor the change that caused the notification.
    """


@hookspec
def motorpool_alert_checks() -> Sequence[AlertCheck]:
    """Contribute metrics for the alert check to watch, beside the built-in eight.

    Returns: ``AlertCheck`` items (see ``app.plugins.contracts``). All collected; a category
    that is already taken is refused and logged. Each is shown, configured (thresholds) and
    routed exactly like the built-in ones.

    Fires: once, while the application is created; ``measure`` is called on every check.
    """


# --- Lifecycle ----------------------------------------------------------------------------


@hookspec
def motorpool_dispatch_created(dispatch: Dispatch) -> None:
    """A dispatch was created (with its checklist rows) through the dispatch service.

    Fires: after the creating transaction committed. Return value ignored.
    """


@hookspec
def motorpool_dispatch_status_changed(
    dispatch: Dispatch, status_from: str, status_to: str, reason: str | None, actor: User | None
) -> None:
    """A dispatch moved from ``status_from`` to ``status_to``.

    Fires: after the transaction committed, once per change. Return value ignored.
    """


@hookspec
def motorpool_dispatch_assigned(
    dispatch: Dispatch, technician: User, metric: DispatchMetric | None, mode: str
) -> None:
    """A dispatch was assigned (or reassigned) to ``technician``.

    ``mode`` is ``auto``, ``manual``, ``override`` (a manager's choice of a technician the
    engine would not pick, with a reason), ``batch`` or ``fallback``; ``metric`` is the
    ``dispatch_metrics`` row recorded for the assignment.

    Fires: after the transaction committed. Return value ignored.
    """


@hookspec
def motorpool_dispatch_detail_completed(
    dispatch: Dispatch, detail: DispatchDetailVirtual, actor: User
) -> None:
    """A dispatch detail row (checklist) was signed off by ``actor``.

    Fires: after the transaction committed. Return value ignored.
    """


# --- Web and command line -----------------------------------------------------------------


@hookspec
def motorpool_blueprints() -> Sequence[Blueprint]:
    """Contribute Flask blueprints (pages, endpoints).

    Returns: blueprints, registered with the application in plugin order. All collected.

    Fires: once, while the application is created.
    """


@hookspec
def motorpool_navigation_links(user: User) -> Sequence[NavLink]:
    """Contribute links to the main navigation for ``user`` (check their role).

    Returns: ``NavLink`` items. All collected, shown after the built-in links.

    Fires: on every page render for a signed-in user.
    """


@hookspec
def motorpool_cli_commands() -> Sequence[click.Command]:
    """Contribute ``flask`` commands or command groups.

    Returns: click commands. All collected; a name that clashes with an existing command
    is refused and logged.

    Fires: once, while the application is created.
    """
