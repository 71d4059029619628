from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class PluginSetting(UserCreatedBase, Base):
    """Whether a plugin is enabled; read once when the application starts."""

    __tablename__ = "plugin_settings"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
