"""Posts in chat: `submit` opens the post form, approvers decide with buttons, `posts` lists.

Who may submit and who approves is the permission model's (``post.submit``,
``post.approve``, ``post.review`` for legal on sensitive topics). A form
submission comes back as the same action as its button, with ``fields``.
"""

from __future__ import annotations

from sqlmodel import Session

from bot import audit, permissions
from bot.clock import local, utcnow
from bot.delivery.models import OPERATIONAL
from bot.events import ActionEvent
from bot.i18n import N_, Tr, format_day, language_name
from bot.members.models import Member
from bot.messages import (
    Actions,
    Button,
    ContextLine,
    Divider,
    Form,
    FormField,
    Image,
    Link,
    Message,
    Option,
    Section,
    join_variants,
)
from bot.notify import to_member
from bot.posts import service
from bot.posts.models import (
    APPROVE,
    APPROVED,
    AS_LEGAL,
    CHANGES_REQUESTED,
    REJECT,
    REQUEST_CHANGES,
    Post,
    PostContent,
)
from bot.registry import Context, Registry, UserError

FORM_ACTION = "post.form"
APPROVE_ACTION = "post.approve"
CHANGES_ACTION = "post.changes"
REJECT_ACTION = "post.reject"
EDIT_ACTION = "post.edit"
NETWORK_NAMES = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook"}

STATUS_NAMES = {
    "draft": N_("draft"),
    "submitted": N_("waiting for approval"),
    "changes_requested": N_("changes requested"),
    "approved": N_("approved"),
    "live": N_("live"),
    "expired": N_("expired"),
    "withdrawn": N_("withdrawn"),
    "rejected": N_("rejected"),
}


def post_form(ctx: Context, post_id: str = "", values: dict[str, str] | None = None) -> Form:
    """The post form, in the member's language, holding ``values`` (what they typed before)."""
    tr, config = ctx.tr, ctx.config
    values = values or {}
    variants_hint = tr("Several versions? Put a line with only --- between them.")
    fields = [
        FormField(name="title", label=tr("Title"), required=True, max_length=service.MAX_TITLE),
        FormField(name="link", label=tr("Link to share"), required=True, hint="https://…"),
        FormField(
            name="language",
            label=tr("Language of the texts"),
            kind="choice",
            required=True,
            options=[
                Option(value=code, label=language_name(code, tr.lang))
                for code in config.languages.available
            ],
            value=values.get("language") or ctx.member.language,
        ),
        *(
            FormField(
                name=network,
                label=tr("Suggested text for {network}", network=name),
                kind="variants",
                hint=variants_hint,
                max_length=3000,
            )
            for network, name in NETWORK_NAMES.items()
        ),
        FormField(name="hashtags", label=tr("Hashtags"), hint="#Norvel #Lyon"),
        FormField(name="image", label=tr("Picture (link)"), hint="https://…"),
    ]
    if config.posts.sensitive_topics:
        fields.append(
            FormField(
                name="topic",
                label=tr("Sensitive topic"),
                kind="choice",
                options=[
                    Option(value=service.NO_TOPIC, label=tr("None")),
                    *(
                        Option(value=topic.id, label=topic.name.get(tr.lang) or topic.id)
                        for topic in config.posts.sensitive_topics
                    ),
                ],
                value=values.get("topic") or service.NO_TOPIC,
                hint=tr("A sensitive topic is also reviewed by legal."),
            )
        )
    fields += [
        FormField(name="expires", label=tr("Last day to share it"), hint="2027-03-31"),
        FormField(
            name="body",
            label=tr("Why share it (for ambassadors)"),
            kind="multiline",
            max_length=service.MAX_BODY,
        ),
    ]
    fields = [
        entry.model_copy(update={"value": values[entry.name]})
        if values.get(entry.name) and entry.kind not in ("choice",)
        else entry
        for entry in fields
    ]
    return Form(
        title=tr("Propose a post"),
        action_id=FORM_ACTION,
        value=post_id,
        submit_label=tr("Submit"),
        fields=fields,
    )


def values_of(content: PostContent, post: Post) -> dict[str, str]:
    """A stored post as the form's values (to edit it after changes were requested)."""
    values = {
        "title": content.title,
        "link": content.link,
        "language": content.language,
        "hashtags": " ".join(content.hashtags),
        "image": content.image or "",
        "topic": post.topic or service.NO_TOPIC,
        "expires": post.expires.isoformat() if post.expires else "",
        "body": content.body,
    }
    for network in NETWORK_NAMES:
        values[network] = join_variants(content.networks.get(network, []))
    return values


def preview(post: Post, content: PostContent, tr: Tr, author: Member | None, ctx: Context) -> list:
    """What an approver reads before deciding: everything the ambassadors will get."""
    blocks: list = [Section(title=content.title, text=content.body or content.title)]
    if content.image:
        blocks.append(Image(url=content.image, alt=content.image_alt or content.title))
    for network, variants in content.networks.items():
        for number, text in enumerate(variants, 1):
            blocks.append(
                Section(
                    title=tr(
                        "{network}, version {number}",
                        network=NETWORK_NAMES.get(network, network),
                        number=number,
                    ),
                    text=service.with_hashtags(text, content.hashtags),
                )
            )
    blocks.append(Link(url=content.link, label=tr("Open the page to share")))
    facts = [tr("Post {id}", id=post.id)]
    if author is not None:
        facts.append(tr("proposed by {name}", name=author.name))
    department = ctx.config.department(post.department)
    if department is not None:
        facts.append(department.name.get(tr.lang) or department.id)
    if post.expires:
        facts.append(tr("until {date}", date=format_day(post.expires, tr.lang, "long")))
    topic = ctx.config.posts.topic(post.topic)
    if post.sensitive and topic is not None:
        facts.append(
            tr(
                "sensitive topic: {topic} (legal review)",
                topic=topic.name.get(tr.lang) or topic.id,
            )
        )
    blocks.append(ContextLine(text=" · ".join(facts)))
    return blocks


def decision_buttons(post: Post, tr: Tr) -> Actions:
    return Actions(
        buttons=[
            Button(label=tr("Approve"), action_id=APPROVE_ACTION, value=post.id, style="primary"),
            Button(label=tr("Request changes"), action_id=CHANGES_ACTION, value=post.id),
            Button(label=tr("Reject"), action_id=REJECT_ACTION, value=post.id, style="danger"),
        ]
    )


def _content(session: Session, post: Post, lang: str, default: str) -> PostContent:
    contents = service.contents_of(session, post.id)
    return contents.get(lang) or contents.get(default) or next(iter(contents.values()))


def ask_approvers(ctx: Context, post: Post) -> int:
    """Send the post to everyone who may still approve it, with the decision buttons."""
    author = ctx.session.get(Member, post.author_id) if post.author_id else None
    items = []
    for approver in service.approvers(ctx.session, post, ctx.config, ctx.relais.permissions):
        tr = Tr(approver.language)
        content = _content(ctx.session, post, approver.language, ctx.config.languages.default)
        intro = tr(
            "{name} proposes a post. Approve it, ask for changes or reject it.",
            name=author.name if author else tr("The content team"),
        )
        message = Message(
            text=tr("A post awaits your approval: {title}", title=content.title),
            blocks=[
                Section(text=intro),
                *preview(post, content, tr, author, ctx),
                decision_buttons(post, tr),
            ],
        )
        items.append(
            to_member(
                approver,
                ctx.config,
                message,
                key=f"post:{post.id}:round:{post.round}:ask",
                kind="post_approval",
                subject=post.id,
                purpose=OPERATIONAL,
            )
        )
    return ctx.enqueue(items)


def tell_author(ctx: Context, post: Post, decision: str, note: str) -> None:
    """The author learns the outcome, in their language."""
    if post.author_id is None or post.author_id == ctx.member.id:
        return
    author = ctx.session.get(Member, post.author_id)
    if author is None:
        return
    tr = Tr(author.language)
    content = _content(ctx.session, post, author.language, ctx.config.languages.default)
    by = ctx.member.name
    blocks: list
    if decision == APPROVE:
        text = tr(
            "Your post “{title}” is approved: it can now be shared.",
            title=content.title,
        )
        blocks = [Section(text=text)]
    elif decision == REQUEST_CHANGES:
        text = tr("{name} asks for changes to your post “{title}”.", name=by, title=content.title)
        blocks = [
            Section(text=text),
            Section(title=tr("Note"), text=note, plain=True),
            Actions(
                buttons=[
                    Button(
                        label=tr("Edit and submit again"),
                        action_id=EDIT_ACTION,
                        value=post.id,
                        style="primary",
                    )
                ]
            ),
        ]
    else:
        text = tr("{name} rejected your post “{title}”.", name=by, title=content.title)
        blocks = [Section(text=text), Section(title=tr("Reason"), text=note, plain=True)]
    ctx.enqueue(
        [
            to_member(
                author,
                ctx.config,
                Message(text=text, blocks=blocks),
                key=f"post:{post.id}:round:{post.round}:{decision}",
                kind="post_decision",
                subject=post.id,
                purpose=OPERATIONAL,
            )
        ]
    )


def _problem(tr: Tr, error: service.PostError) -> str:
    messages = {
        "unknown": tr("There is no post {id}.", id=error.post_id),
        "not_yours": tr("This post is not yours to decide on."),
        "decided": tr("This post was already decided on: type “posts” to see where it stands."),
        "already_approved": tr("You already approved this post."),
        "note_needed": tr("Say what should change (or why it is rejected): the author reads it."),
        "not_author": tr("Only the author of this post can change it."),
        "not_editable": tr(
            "This post cannot be changed any more: propose a new one with “submit”."
        ),
    }
    return messages.get(error.key, tr("This post cannot be changed any more."))


def register(registry: Registry) -> None:
    @registry.command(
        "submit",
        N_("propose a post for ambassadors to share (a form)"),
        action=permissions.SUBMIT,
        aliases=("proposer",),
    )
    def submit(ctx: Context) -> None:
        tr = ctx.tr
        ctx.reply(
            Message(
                text=tr("Propose a post"),
                blocks=[
                    Section(
                        text=tr(
                            "Fill in the form: the post goes to its approvers, "
                            "and I will tell you their answer."
                        )
                    ),
                    post_form(ctx),
                ],
            )
        )

    @registry.action(FORM_ACTION, permission=permissions.SUBMIT)
    def form_submitted(ctx: Context) -> None:
        tr, event = ctx.tr, ctx.event
        fields = event.fields if isinstance(event, ActionEvent) else None
        if fields is None:
            raise UserError(tr("Type “submit” to open the form."))
        post_id = event.value.strip() if isinstance(event, ActionEvent) else ""
        today = local(utcnow(), ctx.member.time_zone).date()
        draft, problems = service.read_form(fields, ctx.config, ctx.member.language, today)
        if draft is None:
            ctx.reply(
                Message(
                    text=tr("Your post was not submitted: please correct it."),
                    blocks=[
                        Section(
                            title=tr("Your post was not submitted: please correct it."),
                            text="\n".join(f"• {problem}" for problem in problems),
                        ),
                        post_form(ctx, post_id, fields),
                    ],
                )
            )
            return
        rules = ctx.relais.permissions
        try:
            post = service.submit(
                ctx.session, draft, ctx.member, ctx.actor, rules, ctx.config, post_id or None
            )
        except service.PostError as error:
            raise UserError(_problem(tr, error)) from None
        if post.status == APPROVED:
            ctx.reply(
                tr(
                    "Your post “{title}” is approved (you publish for your department): "
                    "it can now be shared.",
                    title=draft.title,
                )
            )
            return
        asked = ask_approvers(ctx, post)
        waiting = tr("It also needs legal's approval (sensitive topic).") if post.sensitive else ""
        ctx.reply(
            tr.plural(
                "Thank you! Your post “{title}” ({id}) was sent to {count} approver. "
                "I will tell you their answer.",
                "Thank you! Your post “{title}” ({id}) was sent to {count} approvers. "
                "I will tell you their answer.",
                asked,
                title=draft.title,
                id=post.id,
                count=asked,
            )
            + (" " + waiting if waiting else "")
        )

    def decide(ctx: Context, decision: str, note: str = "") -> None:
        tr = ctx.tr
        post_id = getattr(ctx.event, "value", "").strip()
        try:
            post, _rows = service.decide(
                ctx.session,
                post_id,
                ctx.member,
                ctx.actor,
                ctx.relais.permissions,
                decision,
                note,
            )
        except service.PostError as error:
            raise UserError(_problem(tr, error)) from None
        audit.in_context(ctx, f"post.{decision}", post.id, round=post.round)
        content = _content(ctx.session, post, ctx.member.language, ctx.config.languages.default)
        if decision == APPROVE:
            if post.status == APPROVED:
                tell_author(ctx, post, APPROVE, note)
                ctx.reply(tr("You approved “{title}”: it can now be shared.", title=content.title))
            else:
                missing = service.needed(post) - service.approved_in(ctx.session, post)
                ctx.reply(
                    tr(
                        "You approved “{title}”. It still needs legal's approval.",
                        title=content.title,
                    )
                    if AS_LEGAL in missing
                    else tr(
                        "You approved “{title}”. It still needs an approver's decision.",
                        title=content.title,
                    )
                )
            return
        tell_author(ctx, post, decision, note)
        ctx.reply(
            tr("You asked for changes to “{title}”; the author is told.", title=content.title)
            if decision == REQUEST_CHANGES
            else tr("You rejected “{title}”; the author is told.", title=content.title)
        )

    def note_form(ctx: Context, action: str, title: str, label: str) -> Form:
        return Form(
            title=title,
            action_id=action,
            value=getattr(ctx.event, "value", ""),
            submit_label=ctx.tr("Send"),
            fields=[FormField(name="note", label=label, kind="multiline", required=True)],
        )

    @registry.action(APPROVE_ACTION)
    def approve(ctx: Context) -> None:
        decide(ctx, APPROVE)

    def with_note(ctx: Context, decision: str) -> None:
        """A click asks for the note (a form); the form's submission decides."""
        tr = ctx.tr
        fields = getattr(ctx.event, "fields", None)
        if fields is not None:
            note = (fields.get("note") or "").strip()
            decide(ctx, decision, note)
            return
        post = service.find(ctx.session, getattr(ctx.event, "value", "").strip())
        if post is None:
            raise UserError(tr("There is no post {id}.", id=getattr(ctx.event, "value", "")))
        if not service.awaiting(post, ctx.actor, ctx.relais.permissions, ctx.session):
            decide(ctx, decision, "")  # says why not (not theirs, already decided)
            return
        if decision == REQUEST_CHANGES:
            form = note_form(ctx, CHANGES_ACTION, tr("Request changes"), tr("What should change?"))
        else:
            form = note_form(ctx, REJECT_ACTION, tr("Reject"), tr("Why is it rejected?"))
        ctx.reply(Message(text=form.title, blocks=[form]))

    @registry.action(CHANGES_ACTION)
    def changes(ctx: Context) -> None:
        with_note(ctx, REQUEST_CHANGES)

    @registry.action(REJECT_ACTION)
    def reject(ctx: Context) -> None:
        with_note(ctx, REJECT)

    @registry.action(EDIT_ACTION, permission=permissions.SUBMIT)
    def edit(ctx: Context) -> None:
        tr = ctx.tr
        post = service.find(ctx.session, getattr(ctx.event, "value", "").strip())
        if post is None or post.author_id != ctx.member.id:
            raise UserError(tr("Only the author of this post can change it."))
        if post.status != CHANGES_REQUESTED:
            raise UserError(
                tr("This post cannot be changed any more: propose a new one with “submit”.")
            )
        content = _content(ctx.session, post, ctx.member.language, ctx.config.languages.default)
        form = post_form(ctx, post.id, values_of(content, post))
        ctx.reply(Message(text=form.title, blocks=[form]))

    @registry.command(
        "posts",
        N_("posts waiting for your approval, and the ones you proposed"),
        action=permissions.SUBMIT,
        aliases=("publications",),
    )
    def posts(ctx: Context) -> None:
        tr, session = ctx.tr, ctx.session
        default = ctx.config.languages.default
        blocks: list = []
        pending = service.pending_for(session, ctx.actor, ctx.relais.permissions)
        if pending:
            blocks.append(
                Section(
                    title=tr.plural(
                        "{count} post awaits your decision",
                        "{count} posts await your decision",
                        len(pending),
                        count=len(pending),
                    ),
                    text=" ",
                )
            )
            for post in pending[:5]:
                author = session.get(Member, post.author_id) if post.author_id else None
                content = _content(session, post, ctx.member.language, default)
                blocks += [Divider(), *preview(post, content, tr, author, ctx)]
                blocks.append(decision_buttons(post, tr))
        mine = service.submitted_by(session, ctx.member.id or 0)
        if mine:
            lines = []
            for post in mine:
                content = _content(session, post, ctx.member.language, default)
                lines.append(
                    f"• {content.title} ({post.id}) — {tr(STATUS_NAMES.get(post.status, post.status))}"
                )
            blocks += [Divider(), Section(title=tr("Your proposals"), text="\n".join(lines))]
        if not blocks:
            raise UserError(
                tr("No post awaits your approval, and you have proposed none.")
                + (" " + tr("Type “submit” to propose one.") if ctx.can(permissions.SUBMIT) else "")
            )
        ctx.reply(Message(text=tr("Posts"), blocks=blocks))
