"""Reporting: plain-language participation figures, read from participation events."""
