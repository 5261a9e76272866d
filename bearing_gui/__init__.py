"""Bearing Inspector desktop app (PySide6 + pyqtgraph). All numeric work is done by ``core``."""
