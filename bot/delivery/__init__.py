"""The outbox: every message the bot sends, one row per message and recipient."""
