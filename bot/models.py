"""Every table, imported in one place so metadata and migrations see them all."""

from sqlmodel import SQLModel

from bot.audit.models import AuditEntry
from bot.campaigns.models import Campaign, ShareLink
from bot.charter.models import (
    CharterAcknowledgement,
    CharterRelease,
    CharterReminderRequest,
    CharterSignOff,
)
from bot.community.models import Meeting, MeetingInvite, Practice, PracticeReaction
from bot.content.models import ContentItem
from bot.crisis.models import Crisis, CrisisAlert, CrisisStep
from bot.delivery.fleet import PlatformHold, Replica
from bot.delivery.models import (
    Delivery,
    DeliveryBody,
    DeliveryPart,
    DeliveryPause,
    HandledEvent,
)
from bot.jobs import SlotRun
from bot.members.models import Address, Member
from bot.participation.models import ParticipationEvent
from bot.posts.models import Post, PostApproval, PostContent
from bot.reporting.models import (
    DashboardSecret,
    DashboardToken,
    ReportingActive,
    ReportingCount,
    ReportingCrisis,
    ReportingHeads,
    ReportingMark,
)
from bot.response.models import Case, CaseAssignment, CaseStep, MentionReport
from bot.training.models import LessonProgress, QuizAnswer
from bot.triage.models import TriageCorrection

metadata = SQLModel.metadata

__all__ = [
    "Address",
    "AuditEntry",
    "Campaign",
    "Case",
    "CaseAssignment",
    "CaseStep",
    "CharterAcknowledgement",
    "CharterRelease",
    "CharterReminderRequest",
    "CharterSignOff",
    "ContentItem",
    "Crisis",
    "CrisisAlert",
    "CrisisStep",
    "DashboardSecret",
    "DashboardToken",
    "Delivery",
    "DeliveryBody",
    "DeliveryPart",
    "DeliveryPause",
    "HandledEvent",
    "LessonProgress",
    "Meeting",
    "MeetingInvite",
    "Member",
    "MentionReport",
    "ParticipationEvent",
    "PlatformHold",
    "Post",
    "PostApproval",
    "PostContent",
    "Practice",
    "PracticeReaction",
    "QuizAnswer",
    "Replica",
    "ReportingActive",
    "ReportingCount",
    "ReportingCrisis",
    "ReportingHeads",
    "ReportingMark",
    "ShareLink",
    "SlotRun",
    "TriageCorrection",
    "metadata",
]
