"""What each kind of content file holds (its YAML front matter and body)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from bot.config import Audience, Email
from bot.i18n import Tr
from bot.messages import MAX_URL

Network = Literal["linkedin", "x", "facebook"]
NETWORKS: tuple[Network, ...] = ("linkedin", "x", "facebook")
Severity = Literal["low", "medium", "high", "critical"]
X_LIMIT = 280  # characters in one post on X, hashtags included

# How a suggested text says that its author works for the company: the charter
# makes it an obligation (an undisclosed link to the company can be misleading
# advertising). Each suggested text of a post must contain one of the markers
# of its language (compared ignoring case). Documented in docs/content.md.
DISCLOSURE_MARKERS: dict[str, tuple[str, ...]] = {
    "en": (
        "#employee",
        "(employee)",
        "I work at",
        "I work for",
        "where I work",
        "my employer",
        "my company",
        "my colleagues",
    ),
    "fr": (
        "#collaborateur",
        "#collaboratrice",
        "#salarié",
        "#salariée",
        "(salarié)",
        "(salariée)",
        "je travaille chez",
        "je travaille pour",
        "où je travaille",
        "mon employeur",
        "mon entreprise",
        "mes collègues",
    ),
}


def discloses_employment(text: str, lang: str) -> bool:
    """Whether ``text`` says its author works for the company (markers of ``lang``, else all)."""
    markers = DISCLOSURE_MARKERS.get(lang) or tuple(
        marker for group in DISCLOSURE_MARKERS.values() for marker in group
    )
    lowered = text.casefold()
    return any(marker.casefold() in lowered for marker in markers)


def url_problem(value: str) -> str | None:
    """What is wrong with a link a member will open (None: nothing), in English msgids.

    Slack and Teams show a link whole up to ``MAX_URL`` characters; Relais never
    cuts one, so a longer one is refused here rather than shown broken.
    """
    try:
        parsed = urlparse(value)
        host = parsed.hostname
        parsed.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "syntax"
    if (
        parsed.scheme not in ("http", "https")
        or not host
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        return "syntax"
    if len(value) > MAX_URL:
        return "length"
    return None


def _url(value: str, info: ValidationInfo) -> str:
    tr = Tr((info.context or {}).get("lang"))
    problem = url_problem(value)
    if problem == "syntax":
        raise ValueError(tr("'{value}' is not a web link (https://…)", value=value[:200]))
    if problem == "length":
        raise ValueError(
            tr(
                "this link is {length} characters long: Slack and Teams show at most {limit} "
                "whole; shorten it (e.g. without tracking parameters)",
                length=len(value),
                limit=MAX_URL,
            )
        )
    return value


def _present(value: Any, info: ValidationInfo) -> Any:
    """A link key that is written must hold a link (an empty ``image:`` is a mistake)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(
            Tr((info.context or {}).get("lang"))(
                "is empty: give a web link (https://…) or remove the line"
            )
        )
    return value


Url = Annotated[str, AfterValidator(_url)]
# An optional link: absent is fine, written but empty is not.
OptionalUrl = Annotated[Url | None, BeforeValidator(_present)]
Text = Annotated[str, Field(min_length=1)]


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuizOption(_FrontMatter):
    text: Text
    correct: bool = False


class Quiz(_FrontMatter):
    question: Text
    options: Annotated[list[QuizOption], Field(min_length=2, max_length=6)]
    explanation: Text

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


class Lesson(_FrontMatter):
    title: Text
    track: str
    order: int
    audience: Audience = Field(default_factory=Audience)
    link: OptionalUrl = None
    image: OptionalUrl = None
    image_alt: str | None = None
    quiz: Quiz
    body: str = ""

    def invariant(self) -> dict[str, Any]:
        """What must be identical in every language version."""
        return {
            "track": self.track,
            "order": self.order,
            "audience": self.audience.model_dump(),
            "link": self.link,
            "image": self.image,
            "options": len(self.quiz.options),
            "correct": [o.correct for o in self.quiz.options],
        }


class Post(_FrontMatter):
    title: Text
    link: Url
    networks: dict[Network, Annotated[list[Text], Field(min_length=1)]]
    hashtags: list[Annotated[str, Field(pattern=r"^#\w+$")]] = Field(default_factory=list)
    expires: date | None = None
    approved_by: Email
    approved_at: AwareDatetime
    audience: Audience = Field(default_factory=Audience)
    body: str = ""

    def with_hashtags(self, text: str) -> str:
        """``text`` followed by the post's hashtags it does not already contain.

        A variant often ends with some of the hashtags already; repeating them
        looks like spam. The comparison ignores case and matches whole tags
        (``#Norvel`` is not in ``#NorvelRecrute``).
        """
        missing = [
            tag
            for tag in self.hashtags
            if not re.search(rf"(?<!\w){re.escape(tag)}(?!\w)", text, re.IGNORECASE)
        ]
        return " ".join([text.strip(), *missing]).strip()

    def invariant(self) -> dict[str, Any]:
        return {
            "link": self.link,
            "expires": self.expires,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "hashtags": sorted(self.hashtags),
            "audience": self.audience.model_dump(),
        }


class CharterSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    text: str
    line: int = 0


class Charter(_FrontMatter):
    version: Annotated[int, Field(ge=1)]
    title: Text
    effective: date
    summary: str | None = None
    body: str = ""
    sections: list[CharterSection] = Field(default_factory=list)

    def invariant(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "effective": self.effective,
            "sections": len(self.sections),
        }


NotifyTarget = Annotated[
    str, Field(pattern=r"^(coordinators|relays|managers|crisis_cell)(:[a-z0-9_-]+)?$")
]


class AmbassadorGuidance(_FrontMatter):
    """What every ambassador is told to do and not do, with the holding statement."""

    do: Annotated[list[Text], Field(min_length=1)]
    dont: Annotated[list[Text], Field(min_length=1)]


class Playbook(_FrontMatter):
    title: Text
    scenario: Text
    severity: Severity
    holding_statement: Text
    # The crisis cell's actions; ``ambassadors`` is what reaches every ambassador.
    do: list[Text] = Field(default_factory=list)
    dont: list[Text] = Field(default_factory=list)
    notify: Annotated[list[NotifyTarget], Field(min_length=1)]
    # Each notified group's (or crisis-cell function's) role in this crisis, told when alerted.
    roles: dict[NotifyTarget, Text] = Field(default_factory=dict)
    ambassadors: AmbassadorGuidance
    # Who has not said "I have read it" is reminded after this long, this many times.
    remind_after_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    reminders: Annotated[int, Field(ge=0, le=10)] = 2
    body: str = ""

    def invariant(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "notify": sorted(self.notify),
            "roles": sorted(self.roles),
            "remind_after_minutes": self.remind_after_minutes,
            "reminders": self.reminders,
        }

    def role_of(self, targets: list[str]) -> list[str]:
        """The role texts for a person who is each of ``targets`` (e.g. crisis_cell:legal)."""
        found = []
        for target in targets:
            group = target.partition(":")[0]
            text = self.roles.get(target) or (self.roles.get(group) if group != target else None)
            if text and text not in found:
                found.append(text)
        return found


KIND_MODELS: dict[str, type[_FrontMatter]] = {
    "lessons": Lesson,
    "posts": Post,
    "charter": Charter,
    "playbooks": Playbook,
}

SECTION_HEADING = re.compile(r"^##\s+(.+?)\s*$")
