"""Bearing Inspector core: the headless library (no Qt anywhere below this package)."""

__version__ = "0.1.0"
