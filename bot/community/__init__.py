"""Relays' community: who's who, good practices shared between relays, round tables."""
