"""Training commands and the quiz-answer action."""

from __future__ import annotations

from bot import notify, permissions
from bot.clock import utcnow
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY
from bot.i18n import N_
from bot.messages import ContextLine, Message, Section
from bot.registry import Context, Registry, UserError
from bot.training import service
from bot.training.results import lesson_results, most_missed


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
            service.missed_by_programme(ctx.session),
            asked=True,
        )
        if found is None:
            raise UserError(
                ctx.tr(
                    "You have done every lesson of your track for now. "
                    "New ones will come on the programme's schedule."
                )
            )
        lesson_id, kind = found
        lesson = ctx.content.lesson(lesson_id, ctx.member.language)
        assert lesson is not None
        key = f"lesson-now:{lesson_id}:{ctx.event.idempotency_key}"
        outgoing = notify.to_member(
            ctx.member,
            ctx.config,
            service.render(lesson_id, lesson, ctx.member.language, kind),
            key=key[:200],
            kind="lesson",
            purpose=OPERATIONAL,  # the member asked for it: a reply, not promotion
            subject=lesson_id,
            priority=PRIORITY_REPLY,
            platform=ctx.event.who.platform,
        )
        if ctx.enqueue([outgoing]):
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
                tr.plural(
                    "*{track}*: {done} lesson answered correctly out of {total}",
                    "*{track}*: {done} lessons answered correctly out of {total}",
                    done,
                    track=name,
                    done=done,
                    total=len(lessons),
                )
                + tr.plural(
                    ", {received} received", ", {received} received", received, received=received
                )
            )
        reviews = sum(1 for view in views.values() if view.review_due_at is not None)
        blocks: list = [
            Section(title=tr("Your training"), text="\n".join(lines) or tr("No track yet."))
        ]
        if reviews:
            blocks.append(
                ContextLine(
                    text=tr.plural(
                        "{count} question will come back for review.",
                        "{count} questions will come back for review.",
                        reviews,
                        count=reviews,
                    )
                )
            )
        ctx.reply(Message(text=tr("Your training"), blocks=blocks))

    @registry.command(
        "results",
        N_(
            "results of lessons (who answered, how many were right, the most-missed question) "
            "or of a post (delivered, share links clicked, “I shared it”)"
        ),
        usage="[lesson|post]",
        action=permissions.RESULTS,
        aliases=("resultats", "résultats"),
    )
    def results(ctx: Context) -> None:
        tr = ctx.tr
        wanted = getattr(ctx.event, "args", "").strip()
        ordered = [
            lid for track in ctx.config.training.tracks for lid in ctx.content.track(track.id)
        ]
        if wanted and wanted not in ctx.content.lessons:
            if any(answer(ctx, wanted) for answer in registry.results):
                return  # another capability's item (a post)
            raise UserError(
                tr("No lesson has the id “{id}”. Lessons: {ids}", id=wanted, ids=", ".join(ordered))
            )
        found = lesson_results(ctx.session, ctx.content, [wanted] if wanted else ordered)
        lang = ctx.member.language
        if wanted:
            result = found[0]
            lesson = ctx.content.lesson(wanted, lang)
            assert lesson is not None
            lines = [
                tr(
                    "Received by {delivered}, answered by {answered} ({share:.0%}), right at the first attempt: "
                    "{correct:.0%}.",
                    delivered=result.delivered,
                    answered=result.answered,
                    share=result.answered_share,
                    correct=result.correct_share,
                )
            ]
            for index, option in enumerate(lesson.quiz.options):
                mark = "✅" if option.correct else "•"
                lines.append(f"{mark} {option.text} — {result.first_choices.get(index, 0)}")
            ctx.reply(
                Message(
                    text=lesson.title,
                    blocks=[
                        Section(title=lesson.title, text=lesson.quiz.question),
                        Section(text="\n".join(lines)),
                    ],
                )
            )
            return
        lines = []
        for result in found:
            lesson = ctx.content.lesson(result.lesson_id, lang)
            title = lesson.title if lesson else result.lesson_id
            lines.append(
                tr(
                    "*{title}* (`{id}`): received {delivered}, answered {answered}, right {correct:.0%}",
                    title=title,
                    id=result.lesson_id,
                    delivered=result.delivered,
                    answered=result.answered,
                    correct=result.correct_share,
                )
            )
        blocks: list = [Section(title=tr("Lesson results"), text="\n".join(lines))]
        missed = most_missed(found)
        if missed:
            lesson = ctx.content.lesson(missed.lesson_id, lang)
            blocks.append(
                Section(
                    title=tr("Most-missed question"),
                    text=tr.plural(
                        "“{question}” — {wrong:.0%} wrong at the first attempt ({answered} answer).",
                        "“{question}” — {wrong:.0%} wrong at the first attempt ({answered} answers).",
                        missed.answered,
                        question=lesson.quiz.question if lesson else missed.lesson_id,
                        wrong=1 - missed.correct_share,
                        answered=missed.answered,
                    ),
                )
            )
        blocks.append(
            ContextLine(text=tr("Type “results <lesson>” for the answers to one question."))
        )
        ctx.reply(Message(text=tr("Lesson results"), blocks=blocks))

    @registry.action(service.ANSWER_ACTION)
    def answer(ctx: Context) -> None:
        value = getattr(ctx.event, "value", "")
        result = service.answer(ctx.session, ctx.member, value, ctx.key, ctx.content, ctx.config)
        ctx.reply(result.message)
