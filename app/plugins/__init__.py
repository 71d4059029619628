"""Motorpool's plugin system, built on pluggy.

Plugins implement the hooks of ``app.plugins.hookspecs`` with the ``hookimpl`` marker::

    from app.plugins import hookimpl

    @hookimpl
    def motorpool_dispatch_detail_types():
        return [MyChecklist]

Built-in plugins and installed ones (entry-point group ``motorpool``) are registered by
the same function, ``app.plugins.manager.load_plugins``.
"""

import pluggy

PROJECT_NAME = "motorpool"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
