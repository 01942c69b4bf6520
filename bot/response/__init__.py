"""The response process: mentions reported by ambassadors, routed to relays, acknowledged."""
