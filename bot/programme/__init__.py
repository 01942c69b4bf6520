"""The programme itself: help, language, joining and leaving, the charter, what to share."""
