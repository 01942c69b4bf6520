"""Every table, imported in one place so metadata and migrations see them all."""

from sqlmodel import SQLModel

from bot.campaigns.models import Campaign, ShareLink
from bot.charter.models import CharterAcknowledgement
from bot.content.models import ContentItem
from bot.crisis.models import Crisis, CrisisAlert, CrisisStep
from bot.delivery.models import Delivery, DeliveryPart, DeliveryPause, HandledEvent
from bot.jobs import SlotRun
from bot.members.models import Address, Member
from bot.participation.models import ParticipationEvent
from bot.posts.models import Post, PostApproval, PostContent
from bot.reporting.models import (
    DashboardSecret,
    DashboardToken,
    ReportingActive,
    ReportingCount,
    ReportingHeads,
    ReportingMark,
)
from bot.response.models import Case, CaseAssignment, CaseStep, MentionReport
from bot.training.models import LessonProgress, QuizAnswer
from bot.triage.models import TriageCorrection

metadata = SQLModel.metadata

__all__ = [
    "Address",
    "Campaign",
    "Case",
    "CaseAssignment",
    "CaseStep",
    "CharterAcknowledgement",
    "ContentItem",
    "Crisis",
    "CrisisAlert",
    "CrisisStep",
    "DashboardSecret",
    "DashboardToken",
    "Delivery",
    "DeliveryPart",
    "DeliveryPause",
    "HandledEvent",
    "LessonProgress",
    "Member",
    "MentionReport",
    "ParticipationEvent",
    "Post",
    "PostApproval",
    "PostContent",
    "QuizAnswer",
    "ReportingActive",
    "ReportingCount",
    "ReportingHeads",
    "ReportingMark",
    "ShareLink",
    "SlotRun",
    "TriageCorrection",
    "metadata",
]
