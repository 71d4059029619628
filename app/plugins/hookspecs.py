"""Every hook a Motorpool plugin can implement.

Each hook's name starts with ``motorpool_``. Unless a hook says "first result wins",
every implementation is called and the results are collected in a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.plugins import hookspec

if TYPE_CHECKING:
    from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual


# --- Data model ---------------------------------------------------------------------------


@hookspec
def motorpool_dispatch_detail_types() -> Sequence[type[DispatchDetailVirtual]]:
    """Contribute dispatch detail (checklist) types.

    Returns: a sequence of ``DispatchDetailVirtual`` subclasses, each with a unique
    ``detail_type`` key and a ``label``. All results are collected.

    Fires: once, while the application is created. The types become available to the
    detail table sets (admins configure them per asset type and make/model) and are
    created on every new dispatch whose asset type or model is configured with them.
    """
