"""Dockable panels, one per module."""
