"""Triage of reported mentions as a capability: relays' corrections, and `relais triage`.

The classifier itself is ``bot.response.triage`` (pure, no database); this package
stores what relays corrected and folds it back into the model.
"""
