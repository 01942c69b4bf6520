"""Posts: sync from files, look-ups, approval decisions, withdrawal and expiry.

What other capabilities rely on (campaigns, share links):

- ``live_post(session, post_id, today=None) -> LivePost | None``: the post if it is
  approved (or live), not past its ``expires`` date on ``today`` (the reader's date;
  UTC today when omitted), not withdrawn, not removed from ``content/posts``;
  with its content per language (``LivePost.content(lang, default)``).
- ``withdraw(session, post_id, actor) -> Post``: the post becomes ``withdrawn``
  (``post_withdrawn`` is recorded); retracting messages already sent is the
  campaigns' work. Withdrawing twice changes nothing the second time.
- ``mark_live(session, post_id, when)``: an approved post a campaign scheduled or sent.
- ``find(session, post_id)``: any post, whatever its status.

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import permissions
from bot.clock import local, utcnow
from bot.config import AppConfig, Audience
from bot.content.library import ContentLibrary
from bot.content.schema import Post as PostFile
from bot.members import service as members
from bot.members.models import Member
from bot.participation.models import record
from bot.permissions import Actor, Permissions, Target
from bot.posts.models import (
    APPROVE,
    APPROVED,
    AS_APPROVER,
    AS_LEGAL,
    CHANGES_REQUESTED,
    DRAFT,
    EXPIRED,
    FROM_FILE,
    LIVE,
    REJECTED,
    REQUEST_CHANGES,
    SHAREABLE,
    SUBMITTED,
    WITHDRAWN,
    Post,
    PostApproval,
    PostContent,
)


class PostError(Exception):
    """Something asked of a post that cannot be done; ``key`` says what (translated by callers)."""

    def __init__(self, key: str, post_id: str = "") -> None:
        super().__init__(f"{key}: {post_id}")
        self.key = key
        self.post_id = post_id


@dataclass
class LivePost:
    """A post that may be shared, with what it says in each language."""

    post: Post
    contents: dict[str, PostContent] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.post.id

    def content(self, lang: str, default: str | None = None) -> PostContent:
        """The version in ``lang``, else in ``default``, else any (every post has one)."""
        return (
            self.contents.get(lang)
            or (self.contents.get(default) if default else None)
            or next(iter(self.contents.values()))
        )

    @property
    def audience(self) -> Audience:
        return Audience.model_validate(self.post.audience or {})

    @property
    def sort_key(self) -> datetime:
        return self.post.approved_at or self.post.created_at


def find(session: Session, post_id: str) -> Post | None:
    return session.get(Post, post_id) if post_id else None


def contents_of(session: Session, post_id: str) -> dict[str, PostContent]:
    rows = session.exec(
        select(PostContent).where(PostContent.post_id == post_id).order_by(PostContent.language)
    ).all()
    return {row.language: row for row in rows}


def is_shareable(post: Post, today: date) -> bool:
    return (
        post.status in SHAREABLE
        and post.retired_at is None
        and (post.expires is None or post.expires >= today)
    )


def live_post(session: Session, post_id: str, today: date | None = None) -> LivePost | None:
    """The post if it may be shared on ``today`` (approved or live, unexpired, not withdrawn)."""
    post = find(session, post_id)
    if post is None or not is_shareable(post, today or utcnow().date()):
        return None
    contents = contents_of(session, post.id)
    return LivePost(post, contents) if contents else None


def live_posts(session: Session, today: date) -> list[LivePost]:
    """Every post that may be shared on ``today``, newest approval first."""
    posts = session.exec(select(Post).where(col(Post.status).in_(SHAREABLE))).all()
    shown = [post for post in posts if is_shareable(post, today)]
    if not shown:
        return []
    rows = session.exec(
        select(PostContent).where(col(PostContent.post_id).in_([p.id for p in shown]))
    ).all()
    by_post: dict[str, dict[str, PostContent]] = {}
    for row in rows:
        by_post.setdefault(row.post_id, {})[row.language] = row
    found = [LivePost(post, by_post[post.id]) for post in shown if by_post.get(post.id)]
    return sorted(found, key=lambda live: (live.sort_key, live.id), reverse=True)


def shareable_for(
    session: Session, member: Member, config: AppConfig, today: date | None = None
) -> list[LivePost]:
    """Posts this member may share now (their date, their audience), newest approval first."""
    today = today or local(utcnow(), member.time_zone).date()  # expiry is the reader's date
    return [
        live
        for live in live_posts(session, today)
        if members.in_audience(member, live.audience, config)
    ]


def withdraw(session: Session, post_id: str, actor: Member | None) -> Post:
    """Withdraw a post (no longer shared anywhere); ``actor`` None is the operator (CLI)."""
    post = find(session, post_id)
    if post is None:
        raise PostError("unknown", post_id)
    if post.status == WITHDRAWN:
        return post
    now = utcnow()
    post.status = WITHDRAWN
    post.withdrawn_at = now
    post.withdrawn_by_id = actor.id if actor else None
    post.updated_at = now
    session.add(post)
    record(session, "post_withdrawn", actor.id if actor else None, post.id)
    return post


def mark_live(session: Session, post_id: str, when: datetime | None = None) -> Post:
    """An approved post that a campaign scheduled or sent is live."""
    post = find(session, post_id)
    if post is None:
        raise PostError("unknown", post_id)
    if post.status == LIVE:
        return post
    if post.status != APPROVED:
        raise PostError("not_approved", post_id)
    post.status = LIVE
    post.live_at = when or utcnow()
    post.updated_at = utcnow()
    session.add(post)
    return post


def expire_due(session: Session, today: date) -> list[str]:
    """Approved and live posts whose ``expires`` date is before ``today``: now expired."""
    due = session.exec(
        select(Post).where(
            col(Post.status).in_(SHAREABLE),
            col(Post.expires).is_not(None),
            col(Post.expires) < today,
        )
    ).all()
    now = utcnow()
    for post in due:
        post.status = EXPIRED
        post.expired_at = now
        post.updated_at = now
        session.add(post)
    return [post.id for post in due]


# --- the post's scope: who may approve it -------------------------------------


def target(post: Post) -> Target:
    """What the permission model is asked about a post: its department or unit of origin."""
    if post.department is None and post.business_unit is None:
        return Target(everyone=True)
    return Target(
        member_id=post.author_id, department=post.department, business_unit=post.business_unit
    )


def needed(post: Post) -> set[str]:
    """The capacities whose approval a post needs: an approver, and legal if sensitive."""
    return {AS_APPROVER, AS_LEGAL} if post.sensitive else {AS_APPROVER}


def decisions(session: Session, post: Post, this_round: bool = True) -> list[PostApproval]:
    query = select(PostApproval).where(PostApproval.post_id == post.id)
    if this_round:
        query = query.where(PostApproval.round == post.round)
    return list(session.exec(query.order_by(col(PostApproval.decided_at), col(PostApproval.id))))


def approved_in(session: Session, post: Post) -> set[str]:
    """The capacities that approved the post in its current round."""
    return {row.role for row in decisions(session, post) if row.decision == APPROVE}


# --- files in content/posts ---------------------------------------------------


def _file_checksum(versions: dict[str, PostFile]) -> str:
    data = {lang: post.model_dump(mode="json") for lang, post in sorted(versions.items())}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _content_from_file(post_id: str, lang: str, item: PostFile) -> PostContent:
    return PostContent(
        post_id=post_id,
        language=lang,
        title=item.title,
        link=item.link,
        networks={network: list(texts) for network, texts in item.networks.items()},
        hashtags=list(item.hashtags),
        image=item.image,
        image_alt=item.image_alt,
        body=item.body,
    )


def set_contents(session: Session, post_id: str, contents: list[PostContent]) -> None:
    """Replace a post's content in every language by ``contents``."""
    existing = contents_of(session, post_id)
    wanted = {content.language for content in contents}
    for lang, row in existing.items():
        if lang not in wanted:
            session.delete(row)
    for content in contents:
        row = existing.get(content.language)
        if row is None:
            session.add(content)
            continue
        for name in ("title", "link", "networks", "hashtags", "image", "image_alt", "body"):
            setattr(row, name, getattr(content, name))
        session.add(row)


def sync_files(
    session: Session, library: ContentLibrary, config: AppConfig | None = None
) -> dict[str, int]:
    """Bring posts written in ``content/posts`` into the posts table.

    A file with ``approved_by``/``approved_at`` is approved as written (with
    ``reviewed_by`` for a sensitive topic, else it waits for legal in chat); a file
    without them is submitted and approved in chat. An edited file starts a new
    round of approval unless its front matter approves it; a post withdrawn or
    expired stays so. A file removed from the folder retires its post.
    """
    now = utcnow()
    counts = {"added": 0, "updated": 0, "retired": 0}
    existing = {
        post.id: post for post in session.exec(select(Post).where(Post.source == FROM_FILE)).all()
    }
    default = library.default_language
    for post_id, versions in library.posts.items():
        digest = _file_checksum(versions)
        post = existing.get(post_id)
        if post is not None and post.file_checksum == digest and post.retired_at is None:
            continue
        main = versions.get(default) or next(iter(versions.values()))
        department = config.department(main.department) if config else None
        sensitive_topics = {t.id for t in config.posts.sensitive_topics} if config else set()
        if post is None:
            if session.get(Post, post_id) is not None:  # a chat post already has this id
                continue
            post = Post(id=post_id, source=FROM_FILE, created_at=now, round=0)
            counts["added"] += 1
        else:
            counts["updated"] += 1
        post.file_checksum = digest
        post.retired_at = None
        post.department = main.department
        post.business_unit = department.business_unit if department else None
        post.topic = main.sensitive_topic
        post.sensitive = main.sensitive_topic is not None and (
            main.sensitive_topic in sensitive_topics or config is None
        )
        post.audience = main.audience.model_dump(mode="json")
        post.expires = main.expires
        post.updated_at = now
        session.add(post)
        session.flush()
        set_contents(
            session, post_id, [_content_from_file(post_id, lang, v) for lang, v in versions.items()]
        )
        if post.status in (WITHDRAWN, EXPIRED):
            continue
        post.round += 1
        post.submitted_at = now
        if main.approved_by is not None and main.approved_at is not None:
            session.add(
                PostApproval(
                    post_id=post_id,
                    round=post.round,
                    email=main.approved_by,
                    role=AS_APPROVER,
                    decision=APPROVE,
                    note="content/posts",
                    decided_at=main.approved_at,
                )
            )
            if main.reviewed_by is not None:
                session.add(
                    PostApproval(
                        post_id=post_id,
                        round=post.round,
                        email=main.reviewed_by,
                        role=AS_LEGAL,
                        decision=APPROVE,
                        note="content/posts",
                        decided_at=main.approved_at,
                    )
                )
        session.flush()
        if needed(post) <= approved_in(session, post):
            post.status = LIVE if post.status == LIVE else APPROVED
            post.approved_at = main.approved_at
        else:
            post.status = SUBMITTED
            post.approved_at = None
    for post_id, post in existing.items():
        if post_id not in library.posts and post.retired_at is None:
            post.retired_at = now
            post.updated_at = now
            session.add(post)
            counts["retired"] += 1
    return counts


# --- ids for posts written in chat --------------------------------------------


def slug_for(session: Session, title: str) -> str:
    """A readable, unused id from a title: 'Job fair in Lyon!' -> 'job-fair-in-lyon'."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60].strip("-") or "post"
    taken = set(
        session.exec(
            select(Post.id).where(
                func.lower(Post.id).like(f"{base}%")  # type: ignore[arg-type]
            )
        ).all()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def with_hashtags(text: str, hashtags: list[str]) -> str:
    """``text`` followed by the post's hashtags it does not already contain.

    A variant often ends with some of the hashtags already; repeating them
    looks like spam. The comparison ignores case and matches whole tags
    (``#Norvel`` is not in ``#NorvelRecrute``).
    """
    missing = [
        tag
        for tag in hashtags
        if not re.search(rf"(?<!\w){re.escape(tag)}(?!\w)", text, re.IGNORECASE)
    ]
    return " ".join([text.strip(), *missing]).strip()


def summary(post: Post, content: PostContent | None) -> dict[str, Any]:
    """A short, loggable description of a post (no text content)."""
    return {
        "id": post.id,
        "status": post.status,
        "title": content.title if content else "",
        "department": post.department,
        "sensitive": post.sensitive,
    }


# --- submitting and deciding --------------------------------------------------


@dataclass
class Draft:
    """What a member wrote in the post form, checked."""

    language: str
    title: str
    link: str
    networks: dict[str, list[str]]
    hashtags: list[str]
    image: str | None
    body: str
    topic: str | None
    expires: date | None


FIELDS = (
    "title",
    "link",
    "language",
    "linkedin",
    "x",
    "facebook",
    "hashtags",
    "image",
    "topic",
    "expires",
    "body",
)
NO_TOPIC = "none"
MAX_TITLE = 300
MAX_BODY = 4000
MAX_TEXT = 3000


def read_form(
    fields: dict[str, str], config: AppConfig, lang: str, today: date
) -> tuple[Draft | None, list[str]]:
    """The form's texts as a Draft, or the problems found, each naming its field (translated)."""
    from bot.content.schema import NETWORKS, X_LIMIT, discloses_employment, url_problem
    from bot.i18n import Tr

    tr = Tr(lang)
    problems: list[str] = []

    def text(name: str) -> str:
        value = fields.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def link_problem(label: str, value: str) -> None:
        problem = url_problem(value)
        if problem == "syntax":
            problems.append(
                tr(
                    "{field}: “{value}” is not a web link (https://…)",
                    field=label,
                    value=value[:200],
                )
            )
        elif problem == "length":
            problems.append(
                tr(
                    "{field}: this link is {length} characters long; at most {limit}",
                    field=label,
                    length=len(value),
                    limit=2000,
                )
            )

    title = text("title")
    if not title:
        problems.append(tr("Title: write a title."))
    elif len(title) > MAX_TITLE:
        problems.append(
            tr(
                "Title: at most {limit} characters ({count} now).",
                limit=MAX_TITLE,
                count=len(title),
            )
        )
    link = text("link")
    if not link:
        problems.append(tr("Link: give the page to share (https://…)."))
    else:
        link_problem(tr("Link"), link)
    language = text("language") or lang
    if language not in config.languages.available:
        problems.append(
            tr(
                "Language: choose one of {languages}.",
                languages=", ".join(config.languages.available),
            )
        )
    from bot.messages import split_variants

    networks: dict[str, list[str]] = {}
    names = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook"}
    for network in NETWORKS:
        variants = split_variants(fields.get(network, "") or "")
        for number, variant in enumerate(variants, 1):
            where = tr("{network}, version {number}", network=names[network], number=number)
            if len(variant) > MAX_TEXT:
                problems.append(
                    tr("{field}: at most {limit} characters.", field=where, limit=MAX_TEXT)
                )
            if network == "x" and len(variant) > X_LIMIT:
                problems.append(
                    tr(
                        "{field}: {count} characters, X allows {limit}.",
                        field=where,
                        count=len(variant),
                        limit=X_LIMIT,
                    )
                )
            if not discloses_employment(variant, language):
                problems.append(
                    tr(
                        "{field}: say that you work for the company (e.g. “I work at”, “#employee”).",
                        field=where,
                    )
                )
        if variants:
            networks[network] = variants
    if not networks:
        problems.append(tr("Texts: write a suggested text for at least one network."))
    hashtags = text("hashtags").replace(",", " ").split()
    wrong = [tag for tag in hashtags if not re.fullmatch(r"#\w+", tag)]
    if wrong:
        problems.append(
            tr(
                "Hashtags: “{tags}” are not hashtags (#word, separated by spaces).",
                tags=" ".join(wrong)[:200],
            )
        )
    image = text("image") or None
    if image:
        link_problem(tr("Picture"), image)
    topic = text("topic")
    if topic in ("", NO_TOPIC):
        topic = ""
    elif config.posts.topic(topic) is None:
        problems.append(
            tr(
                "Sensitive topic: “{topic}” is not one of {topics}.",
                topic=topic[:100],
                topics=", ".join(t.id for t in config.posts.sensitive_topics) or "—",
            )
        )
    expires: date | None = None
    written = text("expires")
    if written:
        try:
            expires = date.fromisoformat(written)
        except ValueError:
            problems.append(
                tr("Expires: “{value}” is not a date like 2027-03-31.", value=written[:40])
            )
        else:
            if expires < today:
                problems.append(tr("Expires: this date is already past."))
    body = text("body")
    if len(body) > MAX_BODY:
        problems.append(tr("Description: at most {limit} characters.", limit=MAX_BODY))
    if problems:
        return None, problems
    return (
        Draft(
            language=language,
            title=title,
            link=link,
            networks=networks,
            hashtags=hashtags,
            image=image,
            body=body,
            topic=topic or None,
            expires=expires,
        ),
        [],
    )


def capacities(post: Post, actor: Actor, rules: Permissions) -> set[str]:
    """In what capacity this person may decide on the post (none for its author)."""
    if actor.member_id is not None and actor.member_id == post.author_id:
        return set()
    found = set()
    if rules.allows(actor, permissions.APPROVE, target(post)):
        found.add(AS_APPROVER)
    if post.sensitive and rules.allows(actor, permissions.REVIEW):
        found.add(AS_LEGAL)
    return found


def awaiting(post: Post, actor: Actor, rules: Permissions, session: Session) -> set[str]:
    """The capacities this person could still give the post (it is submitted)."""
    if post.status != SUBMITTED:
        return set()
    return (capacities(post, actor, rules) & needed(post)) - approved_in(session, post)


def origin(actor: Actor, member: Member, rules: Permissions) -> tuple[str | None, str | None]:
    """The department and business unit a member's post is for: what they may submit for."""
    reach = rules.reach(actor, permissions.SUBMIT)
    if reach.programme:
        return None, None
    if member.department and member.department in reach.departments:
        return member.department, rules.unit_of(member.department)
    if reach.departments:
        department = sorted(reach.departments)[0]
        return department, rules.unit_of(department)
    if reach.business_units:
        unit = rules.unit_of(member.department)
        return None, unit if unit in reach.business_units else sorted(reach.business_units)[0]
    return member.department, rules.unit_of(member.department)


def self_publishes(post: Post, actor: Actor, rules: Permissions) -> bool:
    """Organic and honeycomb: a relay publishes to their own department without approval."""
    return (
        rules.scopes(actor, permissions.APPROVE).get("relay") is not None
        and post.department is not None
        and post.department in actor.relay_departments
    )


def submit(
    session: Session,
    draft: Draft,
    author: Member,
    actor: Actor,
    rules: Permissions,
    config: AppConfig,
    post_id: str | None = None,
) -> Post:
    """A new post (or a new round of one that needed changes), submitted for approval."""
    now = utcnow()
    if post_id is None:
        department, unit = origin(actor, author, rules)
        post = Post(
            id=slug_for(session, draft.title),
            source="chat",
            author_id=author.id,
            department=department,
            business_unit=unit,
            created_at=now,
            round=1,
        )
    else:
        found = find(session, post_id)
        if found is None:
            raise PostError("unknown", post_id)
        if found.author_id != author.id:
            raise PostError("not_author", post_id)
        if found.status not in (CHANGES_REQUESTED, DRAFT):
            raise PostError("not_editable", post_id)
        post = found
        post.round += 1
    post.topic = draft.topic
    post.sensitive = draft.topic is not None and config.posts.topic(draft.topic) is not None
    post.expires = draft.expires
    post.audience = {"languages": [draft.language]}
    post.status = SUBMITTED
    post.submitted_at = now
    post.updated_at = now
    post.approved_at = None
    session.add(post)
    session.flush()
    set_contents(
        session,
        post.id,
        [
            PostContent(
                post_id=post.id,
                language=draft.language,
                title=draft.title,
                link=draft.link,
                networks=draft.networks,
                hashtags=draft.hashtags,
                image=draft.image,
                body=draft.body,
            )
        ],
    )
    if self_publishes(post, actor, rules):
        session.add(
            PostApproval(
                post_id=post.id,
                round=post.round,
                member_id=author.id,
                email=author.email,
                role=AS_APPROVER,
                decision=APPROVE,
                note="",
                decided_at=now,
            )
        )
        session.flush()
        _approve_if_complete(session, post)
    return post


def _approve_if_complete(session: Session, post: Post) -> bool:
    if needed(post) <= approved_in(session, post):
        post.status = APPROVED
        post.approved_at = utcnow()
        session.add(post)
        return True
    return False


def decide(
    session: Session,
    post_id: str,
    member: Member,
    actor: Actor,
    rules: Permissions,
    decision: str,
    note: str = "",
) -> tuple[Post, list[PostApproval]]:
    """Record a decision on a submitted post; returns the post and the rows recorded.

    Approving gives every capacity the person holds (an approver who is also a
    legal reviewer approves both); the post is approved once every capacity it
    needs approved it in this round. Requesting changes or rejecting ends the round.
    """
    post = find(session, post_id)
    if post is None:
        raise PostError("unknown", post_id)
    held = capacities(post, actor, rules) & needed(post)
    if not held:
        raise PostError("not_yours", post_id)
    if post.status != SUBMITTED:
        raise PostError("decided", post_id)
    if decision != APPROVE and not note.strip():
        raise PostError("note_needed", post_id)
    given = approved_in(session, post) if decision == APPROVE else set()
    now = utcnow()
    rows = [
        PostApproval(
            post_id=post.id,
            round=post.round,
            member_id=member.id,
            email=member.email,
            role=capacity,
            decision=decision,
            note=note.strip()[:2000],
            decided_at=now,
        )
        for capacity in sorted(held - given)
    ]
    if not rows:
        raise PostError("already_approved", post_id)
    for row in rows:
        session.add(row)
    session.flush()
    post.updated_at = now
    if decision == APPROVE:
        _approve_if_complete(session, post)
    elif decision == REQUEST_CHANGES:
        post.status = CHANGES_REQUESTED
    else:
        post.status = REJECTED
    session.add(post)
    return post, rows


def approvers(session: Session, post: Post, config: AppConfig, rules: Permissions) -> list[Member]:
    """Who should be asked to decide on a submitted post, for the capacities still missing."""
    missing = needed(post) - approved_in(session, post)
    if not missing:
        return []
    emails = set(config.people.coordinators) | set(config.posts.legal_reviewers)
    for department in config.departments:
        emails |= set(department.relays)
    for unit in config.business_units:
        emails |= set(unit.hubs)
    query = select(Member).where(col(Member.left_at).is_(None))
    if post.department:
        query = query.where(
            (col(Member.email).in_(sorted(emails))) | (Member.department == post.department)
        )
    else:
        query = query.where(col(Member.email).in_(sorted(emails)))
    found = []
    for candidate in session.exec(query.order_by(col(Member.id))).all():
        actor = rules.actor(
            candidate.id, candidate.email, candidate.department, candidate.roles, candidate.opted_in
        )
        if capacities(post, actor, rules) & missing:
            found.append(candidate)
    return found


def pending_for(session: Session, actor: Actor, rules: Permissions) -> list[Post]:
    """Submitted posts this person could still approve, oldest submission first."""
    posts = session.exec(
        select(Post).where(Post.status == SUBMITTED).order_by(col(Post.submitted_at), col(Post.id))
    ).all()
    return [post for post in posts if awaiting(post, actor, rules, session)]


def submitted_by(session: Session, member_id: int, limit: int = 10) -> list[Post]:
    return list(
        session.exec(
            select(Post)
            .where(Post.author_id == member_id)
            .order_by(col(Post.updated_at).desc(), col(Post.id))
            .limit(limit)
        ).all()
    )
