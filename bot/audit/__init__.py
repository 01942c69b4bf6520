"""The audit log: who did what to the programme, when and from where, never rewritten.

Every capability that changes what the programme says or who may do what
(a broadcast, an approval, a crisis, a reassignment, a role, an export, an
erasure, a reload) adds one line with ``bot.audit.service.record`` in the same
transaction as the action itself: the action and its line commit together or
not at all.
"""

from bot.audit.service import in_context, record

__all__ = ["in_context", "record"]
