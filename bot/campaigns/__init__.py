"""Campaigns: approved posts pushed to an audience, share links, withdrawal."""
