"""Dispatch pages: the manager's list, My work, the new work order form and the dispatch page.

The views only parse input, call a service and render; each module holds one page's routes.
"""

from app.blueprints.dispatches import detail_views, list_views, new_views  # noqa: F401
