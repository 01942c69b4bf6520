"""Posts: what ambassadors share, from draft to approval to expiry or withdrawal."""
