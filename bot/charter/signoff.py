"""Charter sign-off: a new version is a draft until the people app.yaml names approve it.

``charter.sign_off`` lists the signatures a version needs (a person, or any one
person of a group such as ``legal_reviewers``). The highest version of the
charter that is not published is the draft; each signatory gets a message with
Approve / Request changes, on whatever platform reaches them. A signature
counts for the text it was given on (a checksum of every language): when the
draft's text changes, the signatories are asked again. Once every signature is
in, the version is published, and only then do members see it as *the*
charter (the acceptance button, the reminders, "what changed").

Which versions are published lives in ``charterrelease``; the live content
library carries it as ``charter_published`` (set when content is synced,
after each decision, and every few seconds in each replica), so everything
that asks ``content.current_charter`` never sees a draft.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot import notify
from bot.charter.models import (
    ACCEPTED_BEFORE,
    APPROVED,
    BY_SIGN_OFF,
    CHANGES_REQUESTED,
    DRAFT,
    PUBLISHED,
    WITHOUT_SIGN_OFF,
    CharterAcknowledgement,
    CharterRelease,
    CharterSignOff,
)
from bot.clock import local
from bot.config import AppConfig, SignOffSeat
from bot.content.library import ContentLibrary, checksum
from bot.content.schema import Charter
from bot.delivery.models import OPERATIONAL
from bot.delivery.outbox import Outgoing
from bot.i18n import Tr, format_day
from bot.members.models import Member
from bot.messages import Actions, Button, ContextLine, Message, Section

APPROVE_ACTION = "charter.approve"
CHANGES_ACTION = "charter.changes"
READ_DRAFT_ACTION = "charter.draft"


def required(config: AppConfig) -> bool:
    return bool(config.charter.sign_off)


def versions(content: ContentLibrary) -> list[int]:
    """Every charter version in the files, lowest first."""
    return sorted(
        {
            content._pick(content.charters, cid, content.default_language).version
            for cid in content.charters
        }
    )


def text_checksum(content: ContentLibrary, version: int) -> str:
    """One checksum over every language of a version: what a signature is given on."""
    digests = sorted(
        (lang, checksum(charter))
        for by_lang in content.charters.values()
        for lang, charter in by_lang.items()
        if charter.version == version
    )
    return hashlib.sha256(repr(digests).encode()).hexdigest()


def published_versions(
    session: Session, content: ContentLibrary, config: AppConfig
) -> frozenset[int] | None:
    """The versions members may be asked to accept (None: all, when nobody signs off).

    A version members already accepted before sign-off was turned on stays in
    force until the scheduled review records it as such.
    """
    if not required(config):
        return None
    releases = {row.version: row for row in session.exec(select(CharterRelease)).all()}
    accepted = set(
        session.exec(select(CharterAcknowledgement.version).distinct()).all()  # type: ignore[call-overload]
    )
    published = set()
    for version in versions(content):
        release = releases.get(version)
        if release is None:
            if version in accepted:
                published.add(version)
        elif release.status == PUBLISHED:
            published.add(version)
    return frozenset(published)


def refresh_gate(session: Session, content: ContentLibrary, config: AppConfig) -> None:
    """Tell the live library which charter versions are published."""
    content.charter_published = published_versions(session, content, config)


def draft_version(session: Session, content: ContentLibrary, config: AppConfig) -> int | None:
    """The version waiting for its signatures: the highest one, when it is not published."""
    found = versions(content)
    if not found or not required(config):
        return None
    published = published_versions(session, content, config) or frozenset()
    return found[-1] if found[-1] not in published else None


@dataclass(frozen=True)
class Signature:
    seat: SignOffSeat
    given: CharterSignOff | None  # the approval that fills the seat, if any


def decisions(session: Session, version: int, text: str) -> dict[str, CharterSignOff]:
    """Each person's latest decision on this text of the version, by e-mail."""
    latest: dict[str, CharterSignOff] = {}
    for row in session.exec(
        select(CharterSignOff)
        .where(CharterSignOff.version == version, CharterSignOff.checksum == text)
        .order_by(CharterSignOff.decided_at, CharterSignOff.id)  # type: ignore[arg-type]
    ).all():
        latest[row.email] = row
    return latest


def signatures(
    session: Session, config: AppConfig, version: int, text: str
) -> tuple[list[Signature], list[CharterSignOff]]:
    """Every seat with the approval that fills it, and the requests for changes that stand."""
    latest = decisions(session, version, text)
    seats = []
    for seat in config.charter_seats():
        given = next(
            (
                latest[email]
                for email in sorted(seat.emails)
                if email in latest and latest[email].decision == APPROVED
            ),
            None,
        )
        seats.append(Signature(seat, given))
    objections = [row for row in latest.values() if row.decision == CHANGES_REQUESTED]
    return seats, objections


def complete(session: Session, config: AppConfig, version: int, text: str) -> bool:
    seats, objections = signatures(session, config, version, text)
    return all(s.given is not None for s in seats) and not objections


def seat_name(seat: SignOffSeat, config: AppConfig, tr: Tr) -> str:
    """A seat in words: a person's e-mail, or the group (“the managers of Human resources”)."""
    group, _, scope = seat.entry.partition(":")
    if "@" in seat.entry:
        return seat.entry
    if seat.entry == "coordinators":
        return tr("a coordinator")
    if seat.entry == "legal_reviewers":
        return tr("a legal reviewer")
    if group == "managers":
        department = config.department(scope)
        name = department.name.get(tr.lang) or scope if department else scope
        return tr("a manager of {department}", department=name)
    return tr("the crisis cell's {function}", function=scope)


def release_of(session: Session, version: int) -> CharterRelease | None:
    return session.get(CharterRelease, version)


def publish(session: Session, version: int, how: str, now: datetime) -> CharterRelease:
    release = release_of(session, version)
    if release is None:
        release = CharterRelease(version=version, status=PUBLISHED, first_seen_at=now)
        session.add(release)
    release.status = PUBLISHED
    release.published_at = now
    release.published_how = how
    return release


def signed_line(
    session: Session, version: int, tr: Tr, zone: str, names: dict[int, str] | None = None
) -> str | None:
    """“Signed off by … on …” for a published version, or None without signatures."""
    release = release_of(session, version)
    if release is None or release.published_how != BY_SIGN_OFF or release.checksum is None:
        return None
    latest = decisions(session, version, release.checksum)
    approved = [row for row in latest.values() if row.decision == APPROVED]
    if not approved:
        return None
    people = names or dict(
        session.execute(
            select(Member.id, Member.name).where(
                Member.id.in_([row.member_id for row in approved])  # type: ignore[union-attr]
            )
        ).all()
    )
    parts = [
        tr(
            "{name} on {date}",
            name=people.get(row.member_id) or row.email,
            date=format_day(local(row.decided_at, zone).date(), tr.lang, "long"),
        )
        for row in sorted(approved, key=lambda r: r.decided_at)
    ]
    return tr("Signed off by {people}.", people=", ".join(parts))


def request_message(
    charter: Charter,
    version_text: str,
    seats: list[Signature],
    config: AppConfig,
    tr: Tr,
    changes: str | None,
) -> Message:
    """What a signatory receives: the draft in brief, who must sign, and the two buttons."""
    value = f"{charter.version}:{version_text[:16]}"
    lines = [("✅ " if s.given else "• ") + seat_name(s.seat, config, tr) for s in seats]
    blocks: list = [
        Section(
            title=tr(
                "Charter version {version} is a draft waiting for your sign-off",
                version=charter.version,
            ),
            text=tr(
                "“{title}”. Members will be asked to accept it only once it is signed off by:",
                title=charter.title,
            )
            + "\n"
            + "\n".join(lines),
        ),
    ]
    if charter.summary:
        blocks.append(Section(text=charter.summary))
    if changes:
        blocks.append(Section(text=changes))
    blocks.append(
        Actions(
            buttons=[
                Button(label=tr("Read the draft"), action_id=READ_DRAFT_ACTION, value=value),
                Button(label=tr("Approve"), action_id=APPROVE_ACTION, value=value, style="primary"),
                Button(label=tr("Request changes"), action_id=CHANGES_ACTION, value=value),
            ]
        )
    )
    return Message(
        text=tr("Charter version {version}: your sign-off is needed", version=charter.version),
        blocks=blocks,
    )


def draft_message(
    charter: Charter,
    version_text: str,
    seats: list[Signature],
    config: AppConfig,
    tr: Tr,
    objections: list[CharterSignOff],
    can_sign: bool,
) -> Message:
    """The whole draft, with where its signatures stand."""
    lines = []
    for signature in seats:
        name = seat_name(signature.seat, config, tr)
        if signature.given is not None:
            lines.append(
                tr(
                    "✅ {seat}: approved by {email}",
                    seat=name,
                    email=signature.given.email,
                )
            )
        else:
            lines.append(tr("⏳ {seat}: waiting", seat=name))
    for row in objections:
        lines.append(
            tr("✋ {email} asked for changes: {note}", email=row.email, note=row.note or "")
        )
    blocks: list = [
        Section(title=charter.title, text=charter.summary or ""),
        ContextLine(
            text=tr("Draft of version {version}: not yet shown to members", version=charter.version)
        ),
        *[Section(title=section.title, text=section.text) for section in charter.sections],
        Section(title=tr("Sign-off"), text="\n".join(lines)),
    ]
    if can_sign:
        value = f"{charter.version}:{version_text[:16]}"
        blocks.append(
            Actions(
                buttons=[
                    Button(
                        label=tr("Approve"), action_id=APPROVE_ACTION, value=value, style="primary"
                    ),
                    Button(label=tr("Request changes"), action_id=CHANGES_ACTION, value=value),
                ]
            )
        )
    return Message(text=charter.title, blocks=blocks)


def signatories(session: Session, config: AppConfig) -> list[Member]:
    """The members who may sign (every person of every seat), present in the programme."""
    emails = sorted({email for seat in config.charter_seats() for email in seat.emails})
    if not emails:
        return []
    return list(
        session.exec(
            select(Member).where(
                func.lower(Member.email).in_(emails),  # type: ignore[arg-type]
                Member.left_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    )


def coordinators(session: Session, config: AppConfig) -> list[Member]:
    emails = [email.lower() for email in config.people.coordinators]
    if not emails:
        return []
    return list(
        session.exec(
            select(Member).where(
                func.lower(Member.email).in_(emails),  # type: ignore[arg-type]
                Member.left_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    )


def review(
    session: Session, config: AppConfig, content: ContentLibrary, now: datetime
) -> list[Outgoing]:
    """Record each version's state and ask the signatories about a new draft text.

    Without signatories, every version is published as it appears. With them,
    a version members already accepted stays in force; the highest version not
    published is the draft (an older unsigned one is simply superseded).
    """
    found = versions(content)
    releases = {row.version: row for row in session.exec(select(CharterRelease)).all()}
    if not required(config):
        for version in found:
            release = releases.get(version)
            if release is None or release.status != PUBLISHED:
                publish(session, version, WITHOUT_SIGN_OFF, now)
        return []
    accepted = set(
        session.exec(select(CharterAcknowledgement.version).distinct()).all()  # type: ignore[call-overload]
    )
    for version in found:
        if version not in releases and version in accepted:
            releases[version] = publish(session, version, ACCEPTED_BEFORE, now)
    if not found or (releases.get(found[-1]) and releases[found[-1]].status == PUBLISHED):
        return []
    version = found[-1]
    release = releases.get(version)
    if release is None:
        release = CharterRelease(version=version, status=DRAFT, first_seen_at=now)
        session.add(release)
    text = text_checksum(content, version)
    if complete(session, config, version, text):
        # Signed while its text stayed the same (e.g. the last click on another replica).
        release.checksum = text
        return announce(session, config, content, publish(session, version, BY_SIGN_OFF, now), now)
    if release.checksum == text:
        return []  # already asked about this text
    release.checksum = text
    release.requested_at = now
    return ask(session, config, content, version, text)


def ask(
    session: Session, config: AppConfig, content: ContentLibrary, version: int, text: str
) -> list[Outgoing]:
    """The sign-off request, to every signatory who has not approved this text yet."""
    from bot.charter.service import changes_text, what_changed

    seats, _ = signatures(session, config, version, text)
    latest = decisions(session, version, text)
    outgoing = []
    for member in signatories(session, config):
        mine = latest.get(member.email.lower())
        if mine is not None and mine.decision == APPROVED:
            continue
        found = content.charter_version(version, member.language)
        assert found is not None
        tr = Tr(member.language)
        changed = what_changed(content, found[1], member.language)
        outgoing.append(
            notify.to_member(
                member,
                config,
                request_message(
                    found[1],
                    text,
                    seats,
                    config,
                    tr,
                    changes_text(changed, tr) if changed else None,
                ),
                key=f"charter-sign-off:v{version}:{text[:16]}",
                kind="charter_sign_off",
                subject=f"v{version}",
                purpose=OPERATIONAL,
            )
        )
    return outgoing


def announce(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    release: CharterRelease,
    now: datetime,
) -> list[Outgoing]:
    """Tell the signatories and the coordinators that the version is published."""
    people = {m.id: m for m in [*signatories(session, config), *coordinators(session, config)]}
    outgoing = []
    for member in people.values():
        tr = Tr(member.language)
        found = content.charter_version(release.version, member.language)
        title = found[1].title if found else ""
        text = tr(
            "Charter version {version} (“{title}”) is signed off and published: members are "
            "now asked to accept it.",
            version=release.version,
            title=title,
        )
        line = signed_line(session, release.version, tr, member.time_zone)
        blocks: list = [Section(text=text)]
        if line:
            blocks.append(ContextLine(text=line))
        outgoing.append(
            notify.to_member(
                member,
                config,
                Message(text=text, blocks=blocks),
                key=f"charter-published:v{release.version}",
                kind="charter_published",
                subject=f"v{release.version}",
                purpose=OPERATIONAL,
            )
        )
    return outgoing


class SignOffRefused(Exception):
    """Why a click cannot count (already published, an older text…); the message says it."""


@dataclass
class Decided:
    reply: str
    published: bool
    outgoing: list[Outgoing]


def parse_value(value: str) -> tuple[int, str] | None:
    version, _, prefix = value.partition(":")
    if not (version.isascii() and version.isdigit() and len(version) < 10) or not prefix:
        return None
    return int(version), prefix


def decide(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    member: Member,
    value: str,
    decision: str,
    note: str | None,
    platform: str,
    event_key: str,
    now: datetime,
) -> Decided:
    """Record a signatory's decision on the draft text the button was sent with."""
    tr = Tr(member.language)
    parsed = parse_value(value)
    draft = draft_version(session, content, config)
    if parsed is None:
        raise SignOffRefused(tr("That button is no longer in use."))
    version, prefix = parsed
    if draft != version:
        release = release_of(session, version)
        if release is not None and release.status == PUBLISHED:
            raise SignOffRefused(
                tr("Version {version} of the charter is already published.", version=version)
            )
        raise SignOffRefused(
            tr(
                "Version {version} of the charter is no longer the draft waiting for sign-off.",
                version=version,
            )
        )
    text = text_checksum(content, version)
    if not text.startswith(prefix):
        raise SignOffRefused(
            tr(
                "The draft of version {version} has changed since this message: type "
                "“charter draft” to read the new text before deciding.",
                version=version,
            )
        )
    email = member.email.lower()
    if not any(email in seat.emails for seat in config.charter_seats()):
        raise SignOffRefused(tr("You are not among the people who sign off the charter."))
    mine = decisions(session, version, text).get(email)
    if mine is not None and mine.decision == decision == APPROVED:
        return Decided(
            tr("You have already approved version {version} of the charter.", version=version),
            False,
            [],
        )
    session.add(
        CharterSignOff(
            version=version,
            checksum=text,
            member_id=member.id or 0,
            email=email,
            decision=decision,
            note=note or None,
            platform=platform,
            decided_at=now,
            event_key=event_key,
        )
    )
    session.flush()
    if decision == CHANGES_REQUESTED:
        return Decided(
            tr(
                "You asked for changes to version {version}: the coordinators are told, and the "
                "version stays a draft.",
                version=version,
            ),
            False,
            _tell_coordinators(session, config, content, member, version, note or "", now),
        )
    if complete(session, config, version, text):
        release = publish(session, version, BY_SIGN_OFF, now)
        release.checksum = text
        session.flush()
        refresh_gate(session, content, config)
        return Decided(
            tr(
                "You approved version {version}. Every signature is in: it is published, and "
                "members are now asked to accept it.",
                version=version,
            ),
            True,
            announce(session, config, content, release, now),
        )
    seats, _ = signatures(session, config, version, text)
    waiting = [seat_name(s.seat, config, tr) for s in seats if s.given is None]
    return Decided(
        tr(
            "You approved version {version}. It still waits for: {waiting}.",
            version=version,
            waiting=", ".join(waiting) or tr("the requests for changes to be withdrawn"),
        ),
        False,
        [],
    )


def _tell_coordinators(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    signer: Member,
    version: int,
    note: str,
    now: datetime,
) -> list[Outgoing]:
    outgoing = []
    for member in coordinators(session, config):
        tr = Tr(member.language)
        text = tr(
            "{name} asks for changes to the draft of charter version {version}: {note}",
            name=signer.name or signer.email,
            version=version,
            note=note,
        )
        outgoing.append(
            notify.to_member(
                member,
                config,
                Message(
                    text=text,
                    blocks=[
                        Section(text=text),
                        ContextLine(
                            text=tr(
                                "Edit the file content/charter/v{version}.*.md: the signatories "
                                "are asked again about the new text.",
                                version=version,
                            )
                        ),
                    ],
                ),
                key=f"charter-changes:v{version}:{signer.id}:{now.isoformat()}",
                kind="charter_changes",
                subject=f"v{version}",
                purpose=OPERATIONAL,
            )
        )
    return outgoing
