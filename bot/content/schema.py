"""What each kind of content file holds (its YAML front matter and body)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo

from bot.config import Audience, Email
from bot.i18n import Tr

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


def _url(value: str, info: ValidationInfo) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        raise ValueError(
            Tr((info.context or {}).get("lang"))(
                "'{value}' is not a web link (https://…)", value=value
            )
        )
    return value


Url = Annotated[str, AfterValidator(_url)]
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
    link: Url | None = None
    image: Url | None = None
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


class Playbook(_FrontMatter):
    title: Text
    scenario: Text
    severity: Severity
    holding_statement: Text
    do: list[Text] = Field(default_factory=list)
    dont: list[Text] = Field(default_factory=list)
    notify: Annotated[list[NotifyTarget], Field(min_length=1)]
    body: str = ""

    def invariant(self) -> dict[str, Any]:
        return {"severity": self.severity, "notify": sorted(self.notify)}


KIND_MODELS: dict[str, type[_FrontMatter]] = {
    "lessons": Lesson,
    "posts": Post,
    "charter": Charter,
    "playbooks": Playbook,
}

SECTION_HEADING = re.compile(r"^##\s+(.+?)\s*$")
