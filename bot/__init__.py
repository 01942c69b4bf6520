"""Relais core: the platform-neutral programme logic (no chat SDK is imported here)."""

__version__ = "0.1.0"
