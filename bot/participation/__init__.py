"""Participation events: the raw material of stats, digests and the dashboard."""
