from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class AlertThreshold(UserCreatedBase, Base):
    """An admin's thresholds for one alert category, over the configured and built-in defaults.

    For a check whose direction is "outside", ``warning``/``critical`` are the bands' low
    ends and ``warning_high``/``critical_high`` their high ends; otherwise the highs are NULL.
    Who changed them and when are ``updated_by_id`` and ``updated_at``.
    """

    __tablename__ = "alert_thresholds"

    category: Mapped[str] = mapped_column(String(64), unique=True)
    warning: Mapped[float]
    critical: Mapped[float]
    warning_high: Mapped[float | None]
    critical_high: Mapped[float | None]
