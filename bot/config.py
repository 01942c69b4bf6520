"""The programme's configuration: ``app.yaml``, validated on load.

Every error names the file, the line and the key path. Secrets are never
written in the file: secret fields only accept ``${ENV_VAR}`` references,
resolved from the environment when a platform needs them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
)

from bot.i18n import SUPPORTED, Tr, cli_language
from bot.problems import Problem, ProblemsError, from_validation_error
from bot.yamlfile import LocatedYaml, YamlSyntaxError, load

OrganisationModel = Literal["centralized", "organic", "hub_and_spoke", "dandelion", "honeycomb"]
Broadcaster = Literal["central_team", "department_relays", "business_unit_hubs"]
EscalationStep = Literal[
    "department_relays",
    "backup_relays",
    "backup_relay",  # the older spelling, read as backup_relays
    "business_unit_hubs",
    "central_team",
    "crisis_cell",
]
# What triage says about a case (bot/response/triage.py): routing and deadlines key on these.
CaseCategory = Literal["complaint", "question", "crisis_risk", "praise", "other"]
CASE_CATEGORIES: tuple[CaseCategory, ...] = (
    "complaint",
    "question",
    "crisis_risk",
    "praise",
    "other",
)
CaseSeverity = Literal["low", "normal", "high", "critical"]
CASE_SEVERITIES: tuple[CaseSeverity, ...] = ("low", "normal", "high", "critical")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Role = Literal["ambassador", "relay", "coordinator", "manager", "crisis_cell"]
ROLES: tuple[Role, ...] = ("ambassador", "relay", "coordinator", "manager", "crisis_cell")

# Altimeter's five models (see DESIGN.md): who broadcasts, where escalations go.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "centralized": {
        "broadcasters": ["central_team"],
        "escalation_path": ["central_team"],
        "everyone_is_ambassador": False,
    },
    "organic": {
        "broadcasters": ["department_relays"],
        "escalation_path": ["department_relays"],
        "everyone_is_ambassador": False,
    },
    "hub_and_spoke": {
        "broadcasters": ["central_team", "department_relays"],
        "escalation_path": ["department_relays", "central_team"],
        "everyone_is_ambassador": False,
    },
    "dandelion": {
        "broadcasters": ["central_team", "business_unit_hubs"],
        "escalation_path": ["business_unit_hubs", "central_team"],
        "everyone_is_ambassador": False,
    },
    "honeycomb": {
        "broadcasters": ["central_team", "department_relays"],
        "escalation_path": ["department_relays", "central_team"],
        "everyone_is_ambassador": True,
    },
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _lang(info: ValidationInfo) -> Tr:
    return Tr((info.context or {}).get("lang"))


def _email(value: str, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise ValueError(_lang(info)("'{value}' is not an e-mail address", value=value))
    return value.lower()


def _identifier(value: str, info: ValidationInfo) -> str:
    if not _ID.match(value):
        raise ValueError(
            _lang(info)(
                "'{value}' is not a valid id (lowercase letters, digits, - and _)", value=value
            )
        )
    return value


def _zone(value: str, info: ValidationInfo) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            _lang(info)("'{value}' is not a time zone (e.g. Europe/Paris)", value=value)
        ) from None
    return value


def _clock(value: Any, info: ValidationInfo) -> time:
    if isinstance(value, int):  # YAML reads 10:00 unquoted as sexagesimal 600
        value = f"{value // 60:02d}:{value % 60:02d}"
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(
            _lang(info)("'{value}' is not a time of day (HH:MM)", value=value)
        ) from None


def _cron(value: str, info: ValidationInfo) -> str:
    fields = str(value).split()
    if len(fields) == 5 and any(ch.isdigit() for ch in fields[4]):
        # Unix cron counts weekdays from Sunday, APScheduler from Monday: names are unambiguous.
        raise ValueError(
            _lang(info)(
                "'{value}': write weekdays as names (mon, tue, … sun), not numbers", value=value
            )
        )
    try:
        CronTrigger.from_crontab(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            _lang(info)(
                "'{value}' is not a cron schedule (minute hour day month weekday): {error}",
                value=value,
                error=exc,
            )
        ) from None
    return value


def _language(value: str, info: ValidationInfo) -> str:
    if value not in SUPPORTED:
        raise ValueError(
            _lang(info)(
                "'{value}' is not a language Relais speaks ({supported})",
                value=value,
                supported=", ".join(SUPPORTED),
            )
        )
    return value


# Who signs off a charter version: one person by e-mail, or one of a group named in app.yaml.
SIGN_OFF_GROUPS = ("coordinators", "legal_reviewers")
SIGN_OFF_SCOPED = ("managers", "crisis_cell")  # managers:<department>, crisis_cell:<function>


def _sign_off_entry(value: Any, info: ValidationInfo) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    group, colon, scope = text.partition(":")
    if _EMAIL.match(text) and not colon:
        return text
    if (text in SIGN_OFF_GROUPS) or (group in SIGN_OFF_SCOPED and colon and _ID.match(scope)):
        return text
    raise ValueError(
        _lang(info)(
            "'{value}' is not a signatory: write an e-mail address, coordinators, "
            "legal_reviewers, managers:DEPARTMENT or crisis_cell:FUNCTION",
            value=value,
        )
    )


Email = Annotated[str, AfterValidator(_email)]
SignOffEntry = Annotated[str, BeforeValidator(_sign_off_entry)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Zone = Annotated[str, AfterValidator(_zone)]
Clock = Annotated[time, BeforeValidator(_clock)]
Cron = Annotated[str, AfterValidator(_cron)]
Language = Annotated[str, AfterValidator(_language)]
Names = dict[Language, Annotated[str, Field(min_length=1)]]


class EnvRef(str):
    """A ``${NAME}`` reference to an environment variable; the value never sits in a file."""

    @property
    def variable(self) -> str:
        match = _ENV_REF.match(self)
        assert match is not None
        return match.group(1)

    def resolve(self, environ: dict[str, str] | None = None) -> str | None:
        """The secret's value, or None when the variable is unset or empty."""
        value = (os.environ if environ is None else environ).get(self.variable)
        return value or None


def _env_ref(value: Any, info: ValidationInfo) -> EnvRef:
    if not isinstance(value, str) or not _ENV_REF.match(value):
        raise ValueError(
            _lang(info)(
                "secrets are never written in app.yaml: reference an environment variable "
                "as ${{NAME}}"
            )
        )
    return EnvRef(value)


Secret = Annotated[str, AfterValidator(_env_ref)]


class Setting(str):
    """A non-secret setting written literally or as a ``${NAME}`` reference."""

    def resolve(self, environ: dict[str, str] | None = None) -> str | None:
        match = _ENV_REF.match(self)
        if match is None:
            return str(self) or None
        return (os.environ if environ is None else environ).get(match.group(1)) or None


def _setting(value: Any, info: ValidationInfo) -> Setting:
    if not isinstance(value, str):
        raise ValueError(_lang(info)("expected a text value"))
    return Setting(value)


EnvOrText = Annotated[str, AfterValidator(_setting)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Programme(Strict):
    name: Annotated[str, Field(min_length=1)]
    organisation_model: OrganisationModel
    broadcasters: list[Broadcaster] | None = None
    escalation_path: list[EscalationStep] | None = None
    everyone_is_ambassador: bool | None = None

    def effective(self, key: str) -> Any:
        """A setting of the organisation model, overridden where app.yaml says so."""
        value = getattr(self, key)
        return MODEL_DEFAULTS[self.organisation_model][key] if value is None else value


class Languages(Strict):
    available: Annotated[list[Language], Field(min_length=1)]
    default: Language


class QuietHours(Strict):
    start: Clock
    end: Clock

    def contains(self, moment: time) -> bool:
        """True when ``moment`` falls in the quiet span (which may cross midnight)."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class TimeSettings(Strict):
    zone: Zone = "UTC"
    quiet_hours: QuietHours | None = None
    working_days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))


class BusinessUnit(Strict):
    id: Identifier
    name: Names
    hubs: list[Email] = Field(default_factory=list)


class Department(Strict):
    id: Identifier
    name: Names
    business_unit: str | None = None
    relays: list[Email] = Field(default_factory=list)
    # Who takes over when the relays let a case's deadline pass (escalation step backup_relays).
    backup_relays: list[Email] = Field(default_factory=list)
    managers: list[Email] = Field(default_factory=list)


class CrisisCellMember(Strict):
    email: Email
    function: Identifier


class People(Strict):
    coordinators: list[Email] = Field(default_factory=list)
    crisis_cell: list[CrisisCellMember] = Field(default_factory=list)


class Audience(Strict):
    """Who a track or an item is for; an empty list means 'no restriction'."""

    roles: list[Role] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    business_units: list[str] = Field(default_factory=list)
    languages: list[Language] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)


class Track(Strict):
    id: Identifier
    name: Names
    audience: Audience = Field(default_factory=Audience)


class Refreshers(Strict):
    """What a member who has done every lesson of their tracks still receives.

    At most one refresher every ``every_days`` (0: none), the lessons they
    missed most first, never the same lesson twice within ``same_lesson_after_days``.
    """

    every_days: Annotated[int, Field(ge=0, le=365)] = 7
    same_lesson_after_days: Annotated[int, Field(ge=1, le=3650)] = 30


class Training(Strict):
    # Every track whose audience a member matches runs at once, interleaved on the cadence.
    tracks: Annotated[list[Track], Field(min_length=1)] = Field(
        default_factory=lambda: [Track(id="basics", name={"en": "Basics", "fr": "Les bases"})]
    )
    review_after_days: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 3, 7])
    remind_unanswered_after_hours: Annotated[int, Field(ge=1)] = 24
    refreshers: Refreshers = Field(default_factory=Refreshers)


class CharterSettings(Strict):
    """A new charter version is a draft until everyone in ``sign_off`` has approved it in chat.

    Each entry is one signature: a person (an e-mail) or any one person of a
    group (``legal_reviewers``, ``managers:hr``…). Empty: versions are published as synced.
    """

    sign_off: list[SignOffEntry] = Field(default_factory=list)


class Schedules(Strict):
    """Cron expressions, read in each member's own time zone."""

    lessons: Cron | None = None
    charter_reminders: Cron | None = None
    manager_digest: Cron | None = None


Keyword = Annotated[str, Field(min_length=2, max_length=100)]


class Route(Strict):
    """Where cases of a category go; keywords or networks narrow the rule (first match wins)."""

    category: CaseCategory
    department: str
    keywords: list[Keyword] = Field(default_factory=list)
    networks: list[Keyword] = Field(default_factory=list)  # hosts, e.g. linkedin.com


class Deadlines(Strict):
    """Minutes a case may wait for someone to acknowledge it, by severity."""

    critical: Annotated[int, Field(ge=1)] = 5
    high: Annotated[int, Field(ge=1)] = 15
    normal: Annotated[int, Field(ge=1)] = 60
    low: Annotated[int, Field(ge=1)] = 240

    def minutes(self, severity: str) -> int:
        return int(getattr(self, severity, self.normal))


class PlaybookRule(Strict):
    """The crisis playbook to propose for critical cases of these categories or words."""

    playbook: Identifier
    categories: list[CaseCategory] = Field(default_factory=list)
    keywords: list[Keyword] = Field(default_factory=list)


class CrisisProposal(Strict):
    """When critical cases pile up on one subject, the crisis cell is offered a crisis."""

    critical_cases: Annotated[int, Field(ge=1)] = 3
    within_minutes: Annotated[int, Field(ge=1)] = 30
    playbooks: list[PlaybookRule] = Field(default_factory=list)
    default_playbook: Identifier | None = None


class Escalation(Strict):
    routing: list[Route] = Field(default_factory=list)
    # Kept for older app.yaml files: the deadline of a normal case (deadlines.normal).
    acknowledge_within_minutes: Annotated[int, Field(ge=1)] | None = None
    deadlines: Deadlines | None = None
    chain: list[EscalationStep] = Field(default_factory=lambda: ["central_team"])
    # After the last step, everyone already asked is asked again this many times.
    repeats: Annotated[int, Field(ge=0, le=20)] = 2
    # Reports of the same link or near-identical text within this window make one case.
    merge_within_minutes: Annotated[int, Field(ge=1)] = 120
    crisis_proposal: CrisisProposal | None = None

    @property
    def deadline_minutes(self) -> Deadlines:
        if self.deadlines is not None:
            return self.deadlines
        if self.acknowledge_within_minutes is not None:
            return Deadlines(normal=self.acknowledge_within_minutes)
        return Deadlines()


class ConsoleSettings(Strict):
    # Whether the platform can write to a member it has never met (Slack finds them by e-mail).
    reaches_unmet: ClassVar[bool] = True

    enabled: bool = True


class SlackSettings(Strict):
    reaches_unmet: ClassVar[bool] = True

    enabled: bool = False
    bot_token: Secret | None = None
    signing_secret: Secret | None = None
    app_token: Secret | None = None
    api_url: EnvOrText | None = None  # e.g. ${SLACK_API_URL}: a proxy, or a stand-in API in tests
    # Answer Slack only after the work is done (serverless hosts, tests); else ack first.
    process_before_response: bool = False


class TeamsSettings(Strict):
    # A bot can only write to someone who installed it or wrote to it (a stored reference).
    reaches_unmet: ClassVar[bool] = False

    enabled: bool = False
    app_id: Secret | None = None
    app_password: Secret | None = None
    tenant_id: Secret | None = None
    # The bot's Entra app registration: SingleTenant when tenant_id is set, else MultiTenant.
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] | None = None
    # A certificate instead of app_password (the PEM private key in an environment variable).
    certificate_thumbprint: Secret | None = None
    certificate_private_key: Secret | None = None


class Platforms(Strict):
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)

    def enabled(self) -> list[str]:
        """Enabled platforms, in the order deliveries prefer them."""
        return [name for name in ("slack", "teams", "console") if getattr(self, name).enabled]

    def reachable_unmet(self) -> list[str]:
        """Enabled platforms that can write to a member who never used them."""
        return [name for name in self.enabled() if getattr(self, name).reaches_unmet]


class DeliverySettings(Strict):
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50  # kept for older app.yaml files
    # Operations in flight at once (main lane), and reserved for the priority lane.
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    priority_concurrency: Annotated[int, Field(ge=1, le=1000)] = 8
    # Outcomes written in one transaction at most this many at a time.
    record_batch: Annotated[int, Field(ge=1, le=1000)] = 64
    poll_seconds: Annotated[float, Field(gt=0)] = 1.0
    # A worker's claim on a row: renewed every quarter of it while the send is in flight;
    # a worker that died (kill -9, a lost machine) has its rows sent by another after it.
    lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 60.0
    max_attempts: Annotated[int, Field(ge=1)] = 8
    # Sends per second per Slack workspace / Teams tenant; unset: learned from 429s.
    rate_per_second: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    # Sent, failed and cancelled deliveries are removed this many days after they ended
    # (their participation events stay); a message older than this can no longer be
    # updated or withdrawn from members' chats.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class SensitiveTopic(Strict):
    id: Identifier
    name: Names


class PostSettings(Strict):
    """Post approval: topics that also need a legal reviewer's approval, and who they are."""

    sensitive_topics: list[SensitiveTopic] = Field(default_factory=list)
    legal_reviewers: list[Email] = Field(default_factory=list)

    def topic(self, topic_id: str | None) -> SensitiveTopic | None:
        return next((t for t in self.sensitive_topics if t.id == topic_id), None)


def _public_url(value: str, info: ValidationInfo) -> str:
    from urllib.parse import urlparse

    tr = _lang(info)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(tr("'{value}' is not a web address (https://…)", value=value))
    if parsed.query or parsed.fragment:
        raise ValueError(tr("'{value}': the public address takes no ? or # part", value=value))
    return value.rstrip("/")


class WebSettings(Strict):
    # Where members' browsers reach `relais serve` (share links /s/<token> are built on it).
    public_url: Annotated[str, AfterValidator(_public_url)] | None = None


class LoggingSettings(Strict):
    # "text" (default) or "json": one JSON object per line, with the id of the HTTP request
    # or of the delivery it is about. RELAIS_LOG_FORMAT, when set, wins.
    format: Literal["text", "json"] = "text"


class SharingSettings(Strict):
    # What a withdrawn post's messages become: a "withdrawn" notice, or deleted.
    on_withdraw: Literal["update", "delete"] = "update"


class PrivacySettings(Strict):
    # Raw participation events (a lesson delivered, answered, a post delivered, a command
    # used) are removed this many days after they happened, once folded into the reporting
    # rollups: every figure stays, the per-person trail goes. At least 190 days, so a
    # member's own `stats` for this quarter and the last still add up.
    raw_events_days: Annotated[int, Field(ge=190, le=3650)] = 395


class AppConfig(Strict):
    programme: Programme
    languages: Languages
    time: TimeSettings = Field(default_factory=TimeSettings)
    business_units: list[BusinessUnit] = Field(default_factory=list)
    departments: list[Department] = Field(default_factory=list)
    people: People = Field(default_factory=People)
    training: Training = Field(default_factory=Training)
    schedules: Schedules = Field(default_factory=Schedules)
    escalation: Escalation = Field(default_factory=Escalation)
    platforms: Platforms = Field(default_factory=Platforms)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    posts: PostSettings = Field(default_factory=PostSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sharing: SharingSettings = Field(default_factory=SharingSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    charter: CharterSettings = Field(default_factory=CharterSettings)
    # Where the file came from, so checks made later (against content) name the line too.
    _source: tuple[str, LocatedYaml] | None = PrivateAttr(default=None)

    def where(self, *key: str | int) -> tuple[str, int]:
        """The file and line of a key, for problems found after loading."""
        if self._source is None:
            return "app.yaml", 1
        path, located = self._source
        return path, located.line_of(key)

    # --- look-ups used across the core -------------------------------------

    def department(self, department_id: str | None) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)

    @cached_property
    def _roles_by_email(self) -> dict[str, frozenset[str]]:
        roles: dict[str, set[str]] = {}
        for department in self.departments:
            for email in department.relays:
                roles.setdefault(email, set()).add("relay")
            for email in department.managers:
                roles.setdefault(email, set()).add("manager")
        for unit in self.business_units:
            for email in unit.hubs:
                roles.setdefault(email, set()).add("relay")
        for email in self.people.coordinators:
            roles.setdefault(email, set()).add("coordinator")
        for member in self.people.crisis_cell:
            roles.setdefault(member.email, set()).add("crisis_cell")
        for email in self.posts.legal_reviewers:
            roles.setdefault(email, set()).add("legal")
        for seat in self.charter_seats():
            for email in seat.emails:
                roles.setdefault(email, set()).add("charter_signatory")
        return {email: frozenset(found) for email, found in roles.items()}

    def roles_of(self, email: str) -> set[str]:
        """Programme roles app.yaml gives this person (the CSV may add more)."""
        return set(self._roles_by_email.get(email.lower(), ()))

    def crisis_functions(self) -> set[str]:
        return {member.function for member in self.people.crisis_cell}

    def charter_seats(self) -> list[SignOffSeat]:
        """Each signature a charter version needs, with the people who may give it."""
        seats = []
        for entry in self.charter.sign_off:
            group, _, scope = entry.partition(":")
            if "@" in entry:
                emails: tuple[str, ...] = (entry,)
            elif entry == "coordinators":
                emails = tuple(self.people.coordinators)
            elif entry == "legal_reviewers":
                emails = tuple(self.posts.legal_reviewers)
            elif group == "managers":
                department = self.department(scope)
                emails = tuple(department.managers) if department else ()
            else:
                emails = tuple(p.email for p in self.people.crisis_cell if p.function == scope)
            seats.append(SignOffSeat(entry, frozenset(emails)))
        return seats


@dataclass(frozen=True)
class SignOffSeat:
    """One signature a charter version needs: ``entry`` as written, who may give it."""

    entry: str
    emails: frozenset[str]


def _check_references(config: AppConfig, located: LocatedYaml, path: str, tr: Tr) -> list[Problem]:
    """Cross-key rules pydantic cannot see one field at a time."""
    problems: list[Problem] = []

    def report(key: tuple, message: str) -> None:
        dotted = ".".join(str(k) for k in key)
        problems.append(Problem(path, located.line_of(key), f"{dotted}: {message}"))

    languages = config.languages.available
    if config.languages.default not in languages:
        report(
            ("languages", "default"), tr("the default language must be one of languages.available")
        )
    for required in ("fr", "en"):
        if required not in languages:
            report(("languages", "available"), tr("Relais needs at least fr and en"))
            break

    def check_names(key: tuple, names: dict[str, str]) -> None:
        missing = [lang for lang in languages if lang not in names]
        if missing:
            report(key, tr("a name is missing for: {languages}", languages=", ".join(missing)))

    def check_unique(section: str | tuple[str, ...], items: list[Any]) -> None:
        prefix = section if isinstance(section, tuple) else (section,)
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                report((*prefix, index, "id"), tr("the id '{id}' is used twice", id=item.id))
            seen.add(item.id)

    check_unique("business_units", config.business_units)
    check_unique("departments", config.departments)
    check_unique(("training", "tracks"), config.training.tracks)
    units = {unit.id for unit in config.business_units}
    departments = {department.id for department in config.departments}
    for index, unit in enumerate(config.business_units):
        check_names(("business_units", index, "name"), unit.name)
    for index, department in enumerate(config.departments):
        check_names(("departments", index, "name"), department.name)
        if department.business_unit is not None and department.business_unit not in units:
            report(
                ("departments", index, "business_unit"),
                tr("no business unit has the id '{id}'", id=department.business_unit),
            )
    for index, track in enumerate(config.training.tracks):
        check_names(("training", "tracks", index, "name"), track.name)
        for position, department_id in enumerate(track.audience.departments):
            if department_id not in departments:
                report(
                    ("training", "tracks", index, "audience", "departments", position),
                    tr("no department has the id '{id}'", id=department_id),
                )
        for position, unit_id in enumerate(track.audience.business_units):
            if unit_id not in units:
                report(
                    ("training", "tracks", index, "audience", "business_units", position),
                    tr("no business unit has the id '{id}'", id=unit_id),
                )
    seen_routes: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
    catch_all: set[str] = set()
    for index, route in enumerate(config.escalation.routing):
        if route.department not in departments:
            report(
                ("escalation", "routing", index, "department"),
                tr("no department has the id '{id}'", id=route.department),
            )
        rule = (
            route.category,
            tuple(sorted(k.lower() for k in route.keywords)),
            tuple(sorted(n.lower() for n in route.networks)),
        )
        if rule in seen_routes:
            report(
                ("escalation", "routing", index, "category"),
                tr("the category '{id}' is routed twice", id=route.category),
            )
        elif route.category in catch_all:
            report(
                ("escalation", "routing", index),
                tr(
                    "never used: an earlier rule takes every '{id}' case; put the rules "
                    "with keywords or networks first",
                    id=route.category,
                ),
            )
        seen_routes.add(rule)
        if not route.keywords and not route.networks:
            catch_all.add(route.category)
    for index, department in enumerate(config.departments):
        for position, email in enumerate(department.backup_relays):
            if email in department.relays:
                report(
                    ("departments", index, "backup_relays", position),
                    tr("{email} is already a relay of this department", email=email),
                )
    if (
        config.escalation.deadlines is not None
        and config.escalation.acknowledge_within_minutes is not None
    ):
        report(
            ("escalation", "acknowledge_within_minutes"),
            tr("give either deadlines or acknowledge_within_minutes, not both"),
        )
    check_unique(("posts", "sensitive_topics"), config.posts.sensitive_topics)
    for index, topic in enumerate(config.posts.sensitive_topics):
        check_names(("posts", "sensitive_topics", index, "name"), topic.name)
    if config.posts.sensitive_topics and not config.posts.legal_reviewers:
        report(
            ("posts", "sensitive_topics"),
            tr(
                "posts on a sensitive topic need a legal reviewer's approval: "
                "name at least one in posts.legal_reviewers"
            ),
        )
    seen_entries: set[str] = set()
    for index, seat in enumerate(config.charter_seats()):
        key = ("charter", "sign_off", index)
        group, _, scope = seat.entry.partition(":")
        if seat.entry in seen_entries:
            report(key, tr("'{entry}' is named twice", entry=seat.entry))
        seen_entries.add(seat.entry)
        if group == "managers" and scope not in departments:
            report(key, tr("no department has the id '{id}'", id=scope))
        elif group == "crisis_cell" and scope not in config.crisis_functions():
            report(
                key,
                tr("no one in people.crisis_cell has the function '{id}'", id=scope),
            )
        elif not seat.emails:
            report(key, tr("'{entry}' names nobody in app.yaml", entry=seat.entry))
    if config.programme.organisation_model == "dandelion" and not config.business_units:
        report(("programme", "organisation_model"), tr("the dandelion model needs business_units"))
    if not config.platforms.enabled():
        report(("platforms",), tr("enable at least one platform (console, slack or teams)"))
    return problems


def parse_config(text: str, path: str = "app.yaml", lang: str | None = None) -> AppConfig:
    """Validate the text of an app.yaml; raise ProblemsError listing everything wrong."""
    tr = Tr(lang or cli_language())
    try:
        located = load(text)
    except YamlSyntaxError as exc:
        raise ProblemsError(
            [Problem(path, exc.line, tr("not valid YAML: {error}", error=exc))]
        ) from None
    if not isinstance(located.data, dict):
        raise ProblemsError([Problem(path, 1, tr("expected a mapping of keys to values"))])
    try:
        config = AppConfig.model_validate(located.data, context={"lang": tr.lang})
    except ValidationError as exc:
        raise ProblemsError(from_validation_error(exc, path, located, tr.lang)) from None
    problems = _check_references(config, located, path, tr)
    if problems:
        raise ProblemsError(problems)
    config._source = (path, located)
    return config


def config_path(explicit: str | Path | None = None) -> Path:
    """--config, then RELAIS_CONFIG, then ./app.yaml."""
    return Path(explicit or os.environ.get("RELAIS_CONFIG") or "app.yaml")


def load_config(path: str | Path | None = None, lang: str | None = None) -> AppConfig:
    """Read and validate app.yaml (or the file named by --config / RELAIS_CONFIG)."""
    file = config_path(path)
    tr = Tr(lang or cli_language())
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProblemsError([Problem(str(file), 1, tr("file not found"))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError(
            [Problem(str(file), 1, tr("cannot read the file: {error}", error=exc))]
        ) from None
    return parse_config(text, str(file), lang)
