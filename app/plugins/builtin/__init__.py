"""Plugins that ship with Motorpool; registered exactly like installed ones."""
