"""Training commands and the quiz-answer action."""

from __future__ import annotations

from bot.clock import utcnow
from bot.core import Context, Registry, UserError
from bot.delivery.models import PRIORITY_REPLY
from bot.delivery.outbox import enqueue
from bot.i18n import N_
from bot.messages import Context as ContextLine
from bot.messages import Message, Section
from bot.training import service


def register(registry: Registry) -> None:
    @registry.command("lesson", N_("get your next micro-lesson now"), aliases=("lecon", "leçon"))
    def lesson(ctx: Context) -> None:
        now = utcnow()
        found = service.next_lesson(
            ctx.member,
            service.progress_of(ctx.session, ctx.member.id or 0),
            ctx.content,
            ctx.config,
            now,
        )
        if found is None:
            # Nothing new: offer the last unanswered lesson again rather than silence.
            raise UserError(
                ctx.tr(
                    "You have done every lesson of your track for now. "
                    "New ones will come on the programme's schedule."
                )
            )
        lesson_id, review = found
        lesson = ctx.content.lesson(lesson_id, ctx.member.language)
        assert lesson is not None
        key = f"lesson-now:{lesson_id}:{ctx.event.idempotency_key}"
        outgoing = service.lesson_outgoing(
            ctx.member, lesson_id, lesson, ctx.event.who.platform, key[:200], review, PRIORITY_REPLY
        )
        if enqueue(ctx.session, outgoing, now):
            service.note_delivery(ctx.session, ctx.member, lesson_id, lesson.track, now)

    @registry.command(
        "progress", N_("see where you stand in your training"), aliases=("progres", "progrès")
    )
    def progress(ctx: Context) -> None:
        tr = ctx.tr
        views = {
            view.lesson_id: view for view in service.progress_of(ctx.session, ctx.member.id or 0)
        }
        lines = []
        for track_id in service.tracks_for(ctx.member, ctx.config):
            track = next(t for t in ctx.config.training.tracks if t.id == track_id)
            lessons = ctx.content.track(track_id)
            done = sum(1 for lid in lessons if views.get(lid) and views[lid].correct)
            received = sum(1 for lid in lessons if lid in views)
            name = track.name.get(tr.lang) or next(iter(track.name.values()))
            lines.append(
                tr(
                    "*{track}*: {done} of {total} lessons answered correctly, {received} received",
                    track=name,
                    done=done,
                    total=len(lessons),
                    received=received,
                )
            )
        reviews = sum(1 for view in views.values() if view.review_due_at is not None)
        blocks: list = [
            Section(title=tr("Your training"), text="\n".join(lines) or tr("No track yet."))
        ]
        if reviews:
            blocks.append(
                ContextLine(
                    text=tr("{count} question(s) will come back for review.", count=reviews)
                )
            )
        ctx.reply(Message(text=tr("Your training"), blocks=blocks))

    @registry.action(service.ANSWER_ACTION)
    def answer(ctx: Context) -> None:
        event = ctx.event
        value = getattr(event, "value", "")
        key = f"{event.who.platform}:{event.idempotency_key}"
        result = service.answer(ctx.session, ctx.member, value, key, ctx.content, ctx.config)
        ctx.reply(result.message)
