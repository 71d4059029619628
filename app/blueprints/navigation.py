"""The main navigation: built-in links plus what plugins add for the signed-in user."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from app.plugins.contracts import NavLink
from app.plugins.manager import plugin_system


def builtin_links(user) -> list[NavLink]:
    links = [NavLink("Home", "main.home", 0)]
    if user.role == "technician":
        links.append(NavLink("My work", "dispatches.my_work", 10))
    else:
        links.append(NavLink("Dispatches", "dispatches.index", 10))
        links.append(NavLink("New work order", "dispatches.new", 20))
        links.append(NavLink("Out of service", "checklists.out_of_service", 30))
        links.append(NavLink("Alerts", "alerts.index", 40))
        links.append(NavLink("Reports", "reports.index", 45))
    if user.role == "admin":
        links.append(NavLink("Admin", "admin.index", 90))
    return links


def navigation_links() -> list[tuple[str, str]]:
    """``(label, url)`` pairs for the signed-in user; a plugin link to a missing endpoint is dropped."""
    if not current_user.is_authenticated:
        return []
    links = builtin_links(current_user)
    for _plugin, contributed in plugin_system().call_each("motorpool_navigation_links", user=current_user):
        links.extend(contributed)
    resolved = []
    for link in sorted(links, key=lambda item: item.order):
        try:
            resolved.append((link.label, url_for(link.endpoint)))
        except BuildError:
            continue
    return resolved
