"""Who may do what, and over whom: one permission model for every entry point.

A permission is a role × an action × a scope. The scope says how far the
action reaches: the member's *own* things, the *departments* they look after,
the *business units* they are the hub of, or the whole *programme*. Grants are
derived from the organisation model in ``app.yaml`` (who broadcasts, who
approves), so a chat command, a button, a form, a CLI command and a web page
all ask the same question: ``permissions.allows(actor, action, target)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property

from bot.config import AppConfig, Department
from bot.i18n import N_


class Scope(IntEnum):
    """How far an action reaches, narrowest first."""

    OWN = 1
    DEPARTMENT = 2
    BUSINESS_UNIT = 3
    PROGRAMME = 4


# Actions, in the programme's words. Each has a sentence shown when it is refused.
USE = "programme.use"  # help, language, opt in/out, lessons, progress, charter
SHARE = "post.share"
REPORT = "mention.report"
STATS = "stats.view"
RESULTS = "lesson.results"
REPORTS_LIST = "report.list"
ACKNOWLEDGE = "report.acknowledge"
REASSIGN = "case.reassign"
RESOLVE = "case.resolve"  # resolve, mark not relevant, correct the category
DIGEST = "digest.receive"
BROADCAST = "post.broadcast"
SUBMIT = "post.submit"
APPROVE = "post.approve"
REVIEW = "post.review"  # legal's approval of a post on a sensitive topic
CRISIS = "crisis.declare"
CRISIS_BOARD = "crisis.status"
MEMBERS = "members.manage"
CHARTER_REMIND = "charter.remind"
AUDIT = "audit.view"
PRIVACY = "privacy.export"  # a member's own data, as a file
ERASE = "members.erase"  # the data protection officer, at the server's command line
CHARTER_DRAFT = "charter.draft"  # read a charter version waiting for sign-off
CHARTER_SIGN_OFF = "charter.sign_off"  # approve it, or ask for changes
DIRECTORY = "relays.directory"  # every department's relays, not only one's own
PRACTICE_SHARE = "practice.share"
PRACTICE_APPROVE = "practice.approve"
MEETING = "meeting.announce"  # announce relay meetings, see the answers, mark attendance
DELIVERY = "delivery.manage"  # the outbox: pause, resume, cancel a campaign

ACTIONS: dict[str, str] = {
    USE: N_("use the programme"),
    SHARE: N_("share approved posts"),
    REPORT: N_("report a mention"),
    STATS: N_("see participation figures"),
    RESULTS: N_("see lesson results"),
    REPORTS_LIST: N_("see reported mentions"),
    ACKNOWLEDGE: N_("take a reported mention in charge"),
    REASSIGN: N_("reassign a case to another department"),
    RESOLVE: N_("resolve a case"),
    DIGEST: N_("receive the weekly digest"),
    BROADCAST: N_("broadcast posts"),
    SUBMIT: N_("submit posts for approval"),
    APPROVE: N_("approve posts"),
    REVIEW: N_("review posts on sensitive topics"),
    CRISIS: N_("declare or end a crisis"),
    CRISIS_BOARD: N_("follow who has read the crisis alerts"),
    MEMBERS: N_("manage members"),
    CHARTER_REMIND: N_("remind people to accept the charter"),
    AUDIT: N_("read the audit log"),
    PRIVACY: N_("receive a copy of your personal data"),
    ERASE: N_("erase a person's data"),
    CHARTER_DRAFT: N_("read a charter draft and its sign-offs"),
    CHARTER_SIGN_OFF: N_("sign off a new charter version"),
    DIRECTORY: N_("see every department's relays"),
    PRACTICE_SHARE: N_("share a good practice with the other relays"),
    PRACTICE_APPROVE: N_("approve good practices"),
    MEETING: N_("announce relay meetings"),
    DELIVERY: N_("pause, resume and cancel deliveries"),
}

# The roles a person can hold. "member" is anyone in the programme, even opted out
# (they may still change their language or come back); "hub" is a relay of a whole business unit
# (``business_units[].hubs``); "legal" reviews posts on sensitive topics
# (``posts.legal_reviewers``); "charter_signatory" is named in ``charter.sign_off`` (or is one
# of a group named there) and signs off new charter versions; "operator" is whoever runs the `relais` CLI on the
# server, who already holds the database and the secrets.
PRINCIPALS = (
    "member",
    "ambassador",
    "relay",
    "hub",
    "manager",
    "coordinator",
    "crisis_cell",
    "legal",
    "charter_signatory",
    "operator",
)

_EVERY_MEMBER = {
    USE: Scope.OWN,
    SHARE: Scope.OWN,
    REPORT: Scope.OWN,
    STATS: Scope.OWN,
    PRIVACY: Scope.OWN,
}
_BASE: dict[str, dict[str, Scope]] = {
    # Anyone in the programme, even opted out, may ask what Relais holds about them.
    "member": {USE: Scope.OWN, PRIVACY: Scope.OWN},
    "ambassador": dict(_EVERY_MEMBER),
    "relay": {
        **_EVERY_MEMBER,
        STATS: Scope.DEPARTMENT,
        REPORTS_LIST: Scope.DEPARTMENT,
        ACKNOWLEDGE: Scope.DEPARTMENT,
        REASSIGN: Scope.DEPARTMENT,
        RESOLVE: Scope.DEPARTMENT,
        CRISIS_BOARD: Scope.DEPARTMENT,
        # Relays learn from each other: they see one another and share their good practices.
        DIRECTORY: Scope.PROGRAMME,
        PRACTICE_SHARE: Scope.DEPARTMENT,
    },
    "hub": {
        **_EVERY_MEMBER,
        STATS: Scope.BUSINESS_UNIT,
        REPORTS_LIST: Scope.BUSINESS_UNIT,
        ACKNOWLEDGE: Scope.BUSINESS_UNIT,
        REASSIGN: Scope.BUSINESS_UNIT,
        RESOLVE: Scope.BUSINESS_UNIT,
        CRISIS_BOARD: Scope.BUSINESS_UNIT,
        DIRECTORY: Scope.PROGRAMME,
        PRACTICE_SHARE: Scope.BUSINESS_UNIT,
    },
    "manager": {
        **_EVERY_MEMBER,
        STATS: Scope.DEPARTMENT,
        DIGEST: Scope.DEPARTMENT,
        CRISIS_BOARD: Scope.DEPARTMENT,
    },
    "coordinator": {
        **_EVERY_MEMBER,
        STATS: Scope.PROGRAMME,
        RESULTS: Scope.PROGRAMME,
        REPORTS_LIST: Scope.PROGRAMME,
        ACKNOWLEDGE: Scope.PROGRAMME,
        REASSIGN: Scope.PROGRAMME,
        RESOLVE: Scope.PROGRAMME,
        DIGEST: Scope.PROGRAMME,
        SUBMIT: Scope.PROGRAMME,
        APPROVE: Scope.PROGRAMME,
        CRISIS: Scope.PROGRAMME,
        CRISIS_BOARD: Scope.PROGRAMME,
        MEMBERS: Scope.PROGRAMME,
        CHARTER_REMIND: Scope.PROGRAMME,
        AUDIT: Scope.PROGRAMME,
        CHARTER_DRAFT: Scope.PROGRAMME,
        DIRECTORY: Scope.PROGRAMME,
        PRACTICE_SHARE: Scope.PROGRAMME,
        PRACTICE_APPROVE: Scope.PROGRAMME,
        MEETING: Scope.PROGRAMME,
    },
    # The crisis cell is paged on escalations: it takes in charge what it was sent.
    # It declares, follows and ends a crisis for the whole programme.
    "crisis_cell": {
        **_EVERY_MEMBER,
        ACKNOWLEDGE: Scope.OWN,
        REASSIGN: Scope.OWN,
        RESOLVE: Scope.OWN,
        CRISIS: Scope.PROGRAMME,
        CRISIS_BOARD: Scope.PROGRAMME,
    },
    # Legal reviewers approve (or not) every post on a sensitive topic, whoever wrote it.
    "legal": {**_EVERY_MEMBER, REVIEW: Scope.PROGRAMME},
    # The people app.yaml names to sign off the charter read the draft and decide on it.
    "charter_signatory": {CHARTER_DRAFT: Scope.PROGRAMME, CHARTER_SIGN_OFF: Scope.PROGRAMME},
    "operator": dict.fromkeys(ACTIONS, Scope.PROGRAMME),
}

# Who broadcasts, per `programme.broadcasters` (the organisation model's default or app.yaml's).
_BROADCASTERS = {
    "central_team": ("coordinator", Scope.PROGRAMME),
    "department_relays": ("relay", Scope.DEPARTMENT),
    "business_unit_hubs": ("hub", Scope.BUSINESS_UNIT),
}


def grants(config: AppConfig) -> dict[str, dict[str, Scope]]:
    """Role -> action -> widest scope, for this programme's organisation model."""
    table = {role: dict(actions) for role, actions in _BASE.items()}
    model = config.programme.organisation_model
    for broadcaster in config.programme.effective("broadcasters"):
        role, scope = _BROADCASTERS[broadcaster]
        table[role][BROADCAST] = scope
        if role != "coordinator":
            # Whoever broadcasts to a scope may propose posts for it.
            table[role][SUBMIT] = scope
    if model in ("organic", "honeycomb"):
        # Relays publish to their own department: they approve what goes there.
        table["relay"][APPROVE] = Scope.DEPARTMENT
    elif model == "dandelion":
        table["hub"][APPROVE] = Scope.BUSINESS_UNIT
    return table


@dataclass(frozen=True)
class Target:
    """What an action is about: a member, a department, a business unit, or the programme."""

    member_id: int | None = None
    department: str | None = None
    business_unit: str | None = None
    # People an object was sent to (a report's assignees): each of them holds it as their own.
    holders: frozenset[int] = frozenset()
    # The whole programme (every department): only a programme-wide grant covers it.
    everyone: bool = False


EVERYONE = Target(everyone=True)


@dataclass(frozen=True)
class Actor:
    """A person as the permission model sees them: roles and what each role covers."""

    member_id: int | None
    roles: frozenset[str]
    relay_departments: frozenset[str] = frozenset()
    managed_departments: frozenset[str] = frozenset()
    hub_units: frozenset[str] = frozenset()

    @classmethod
    def operator(cls) -> Actor:
        return cls(member_id=None, roles=frozenset({"operator"}))

    @classmethod
    def nobody(cls) -> Actor:
        """Someone who is not a member of the programme."""
        return cls(member_id=None, roles=frozenset())


@dataclass(frozen=True)
class Reach:
    """Everything an actor covers with one action: what a scoped query filters on."""

    programme: bool = False
    own: bool = False
    departments: frozenset[str] = frozenset()
    business_units: frozenset[str] = frozenset()

    @property
    def none(self) -> bool:
        return not (self.programme or self.own or self.departments or self.business_units)


@dataclass
class Permissions:
    """The programme's grants, asked by handlers, jobs, the CLI and pages alike."""

    config: AppConfig
    _units: dict[str, str | None] = field(default_factory=dict, init=False)

    @cached_property
    def table(self) -> dict[str, dict[str, Scope]]:
        return grants(self.config)

    def actor(
        self,
        member_id: int | None,
        email: str,
        department: str | None,
        csv_roles: Iterable[str],
        opted_in: bool,
    ) -> Actor:
        """The actor for a member: roles from the CSV and app.yaml, and what they cover."""
        config = self.config
        roles = {"member"} | set(csv_roles) | config.roles_of(email)
        if opted_in or config.programme.effective("everyone_is_ambassador"):
            roles.add("ambassador")
        email = email.lower()
        relay_departments = {d.id for d in config.departments if email in d.relays}
        managed = {d.id for d in config.departments if email in d.managers}
        hubs = {u.id for u in config.business_units if email in u.hubs}
        # A role given in the CSV covers the member's own department.
        if department and "relay" in csv_roles:
            relay_departments.add(department)
        if department and "manager" in csv_roles:
            managed.add(department)
        if hubs:
            roles.add("hub")
        return Actor(
            member_id=member_id,
            roles=frozenset(roles),
            relay_departments=frozenset(relay_departments),
            managed_departments=frozenset(managed),
            hub_units=frozenset(hubs),
        )

    def unit_of(self, department: str | None) -> str | None:
        found = self.config.department(department)
        return found.business_unit if found else None

    def scopes(self, actor: Actor, action: str) -> dict[str, Scope]:
        """Role -> scope of every role of the actor that grants ``action``."""
        return {
            role: self.table[role][action]
            for role in actor.roles
            if role in self.table and action in self.table[role]
        }

    def reach(self, actor: Actor, action: str) -> Reach:
        """Everything the actor covers with ``action`` (empty when not granted at all)."""
        programme = own = False
        departments: set[str] = set()
        units: set[str] = set()
        for role, scope in self.scopes(actor, action).items():
            if scope is Scope.PROGRAMME:
                programme = True
            elif scope is Scope.BUSINESS_UNIT:
                units |= actor.hub_units
            elif scope is Scope.DEPARTMENT:
                departments |= (
                    actor.managed_departments if role == "manager" else actor.relay_departments
                )
            own = True  # every grant covers the actor's own things
        return Reach(programme, own, frozenset(departments), frozenset(units))

    def allows(self, actor: Actor, action: str, target: Target | None = None) -> bool:
        """True when one of the actor's roles grants ``action`` over ``target``.

        Without a target: whether the actor may do the action at all (over what
        they cover); the handler then narrows what it shows with ``reach``.
        """
        reach = self.reach(actor, action)
        if reach.none:
            return False
        if reach.programme or target is None:
            return True
        if target.everyone:
            return False
        if actor.member_id is not None and (
            target.member_id == actor.member_id or actor.member_id in target.holders
        ):
            return True
        if target.department and target.department in reach.departments:
            return True
        unit = target.business_unit or self.unit_of(target.department)
        return bool(unit and unit in reach.business_units)


def departments_in(reach: Reach, config: AppConfig) -> list[Department]:
    """The departments a scoped reader covers, in app.yaml's order (all, for the programme)."""
    return [
        department
        for department in config.departments
        if reach.programme
        or department.id in reach.departments
        or (department.business_unit and department.business_unit in reach.business_units)
    ]
