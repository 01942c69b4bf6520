"""Reading ``content/`` into a checked, in-memory library.

A file is ``content/<kind>/<id>.<lang>.md``: YAML front matter between ``---``
lines, then a Markdown body. Everything wrong is collected as a Problem with
its file and line, so one run of ``relais content check`` shows it all.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import AppConfig
from bot.content.schema import (
    DISCLOSURE_MARKERS,
    KIND_MODELS,
    NETWORKS,
    SECTION_HEADING,
    X_LIMIT,
    Charter,
    CharterSection,
    Lesson,
    Playbook,
    Post,
    discloses_employment,
)
from bot.i18n import Tr
from bot.problems import Problem, from_validation_error
from bot.yamlfile import LocatedYaml, YamlSyntaxError, load

FILE_NAME = re.compile(r"^(?P<id>[a-z0-9][a-z0-9-]*)\.(?P<lang>[a-z]{2})\.md$")


@dataclass(frozen=True)
class Source:
    path: str
    located: LocatedYaml

    def line(self, *key: str | int) -> int:
        return self.located.line_of(tuple(key))


@dataclass
class ContentLibrary:
    """All content, by kind, id and language; read-only once built."""

    default_language: str
    lessons: dict[str, dict[str, Lesson]] = field(default_factory=dict)
    posts: dict[str, dict[str, Post]] = field(default_factory=dict)
    charters: dict[str, dict[str, Charter]] = field(default_factory=dict)
    playbooks: dict[str, dict[str, Playbook]] = field(default_factory=dict)
    sources: dict[tuple[str, str, str], Source] = field(default_factory=dict)
    fingerprint: str = ""
    # Charter versions that are published (signed off when app.yaml names signatories):
    # None means every version. Set from the database by bot.charter.service.refresh_gate.
    charter_published: frozenset[int] | None = None
    _tracks: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def _pick(self, items: dict[str, dict[str, Any]], item_id: str, lang: str) -> Any:
        versions = items.get(item_id)
        if not versions:
            return None
        return (
            versions.get(lang)
            or versions.get(self.default_language)
            or next(iter(versions.values()))
        )

    def lesson(self, lesson_id: str, lang: str) -> Lesson | None:
        return self._pick(self.lessons, lesson_id, lang)

    def post(self, post_id: str, lang: str) -> Post | None:
        return self._pick(self.posts, post_id, lang)

    def playbook(self, playbook_id: str, lang: str) -> Playbook | None:
        return self._pick(self.playbooks, playbook_id, lang)

    def track(self, track_id: str) -> list[str]:
        """Lesson ids of a track, in delivery order (computed once: the library never changes)."""
        if track_id not in self._tracks:
            ordered = sorted(
                (lesson.order, lesson_id)
                for lesson_id in self.lessons
                if (lesson := self._pick(self.lessons, lesson_id, self.default_language)).track
                == track_id
            )
            self._tracks[track_id] = [lesson_id for _, lesson_id in ordered]
        return self._tracks[track_id]

    def current_charter(self, lang: str) -> tuple[str, Charter] | None:
        """The published charter with the highest version number (a draft is never current)."""
        gate = self.charter_published
        candidates = [
            cid
            for cid in self.charters
            if gate is None or self._pick(self.charters, cid, lang).version in gate
        ]
        if not candidates:
            return None
        charter_id = max(candidates, key=lambda cid: self._pick(self.charters, cid, lang).version)
        return charter_id, self._pick(self.charters, charter_id, lang)

    def charter_version(self, version: int, lang: str) -> tuple[str, Charter] | None:
        """A charter version, published or not."""
        for charter_id in self.charters:
            charter = self._pick(self.charters, charter_id, lang)
            if charter.version == version:
                return charter_id, charter
        return None

    def counts(self) -> dict[str, int]:
        return {
            "lessons": len(self.lessons),
            "posts": len(self.posts),
            "charter_versions": len(self.charters),
            "playbooks": len(self.playbooks),
        }

    def items(self) -> list[tuple[str, str, str, Any]]:
        """(kind, id, language, item) for every file, for syncing."""
        rows = []
        for kind, items in (
            ("lessons", self.lessons),
            ("posts", self.posts),
            ("charter", self.charters),
            ("playbooks", self.playbooks),
        ):
            for item_id, versions in items.items():
                for lang, item in versions.items():
                    rows.append((kind, item_id, lang, item))
        return rows


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line where the body starts) or None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None


def _charter_sections(body: str, first_line: int) -> list[CharterSection]:
    sections: list[CharterSection] = []
    title: str | None = None
    start = first_line
    buffer: list[str] = []
    for offset, line in enumerate(body.splitlines()):
        match = SECTION_HEADING.match(line)
        if match:
            if title is not None:
                sections.append(
                    CharterSection(title=title, text="\n".join(buffer).strip(), line=start)
                )
            title, start, buffer = match.group(1), first_line + offset, []
        elif title is not None:
            buffer.append(line)
    if title is not None:
        sections.append(CharterSection(title=title, text="\n".join(buffer).strip(), line=start))
    return sections


def fingerprint(root: Path) -> str:
    """Changes when any content file is added, removed or modified (for hot reload)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.md")):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()


def load_library(
    root: Path, config: AppConfig, lang: str | None = None
) -> tuple[ContentLibrary, list[Problem]]:
    """Parse and check every content file against app.yaml; return the library and all problems."""
    tr = Tr(lang)
    problems: list[Problem] = []
    library = ContentLibrary(
        default_language=config.languages.default,
        fingerprint=fingerprint(root) if root.exists() else "",
    )
    present: set[tuple[str, str, str]] = set()  # files found, valid or not
    if not root.is_dir():
        return library, [Problem(str(root), 1, tr("the content folder does not exist"))]

    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root)
        shown = str(path)
        if len(relative.parts) != 2 or relative.parts[0] not in KIND_MODELS:
            if path.name.lower() != "readme.md":
                problems.append(
                    Problem(
                        shown,
                        1,
                        tr(
                            "content files go in {folders}",
                            folders=", ".join(f"{k}/" for k in KIND_MODELS),
                        ),
                    )
                )
            continue
        kind = relative.parts[0]
        match = FILE_NAME.match(path.name)
        if not match:
            problems.append(
                Problem(
                    shown,
                    1,
                    tr("the file name must be <id>.<language>.md, e.g. charter-basics.fr.md"),
                )
            )
            continue
        item_id, item_lang = match.group("id"), match.group("lang")
        present.add((kind, item_id, item_lang))
        if item_lang not in config.languages.available:
            problems.append(
                Problem(
                    shown,
                    1,
                    tr(
                        "'{lang}' is not one of the programme's languages ({languages})",
                        lang=item_lang,
                        languages=", ".join(config.languages.available),
                    ),
                )
            )
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(shown, 1, tr("cannot read the file: {error}", error=exc)))
            continue
        parts = split_front_matter(text)
        if parts is None:
            problems.append(
                Problem(
                    shown,
                    1,
                    tr("the file must start with YAML front matter between two '---' lines"),
                )
            )
            continue
        front, body, body_line = parts
        try:
            located = load(front, line_offset=1)
        except YamlSyntaxError as exc:
            problems.append(Problem(shown, exc.line, tr("not valid YAML: {error}", error=exc)))
            continue
        if not isinstance(located.data, dict):
            problems.append(Problem(shown, 2, tr("expected a mapping of keys to values")))
            continue
        data = dict(located.data)
        if "body" in data or "sections" in data:
            problems.append(
                Problem(
                    shown, 2, tr("'body' and 'sections' come from the text below the front matter")
                )
            )
            continue
        data["body"] = body.strip()
        if kind == "charter":
            data["sections"] = [s.model_dump() for s in _charter_sections(body, body_line)]
        try:
            item = KIND_MODELS[kind].model_validate(data, context={"lang": tr.lang})
        except ValidationError as exc:
            problems.extend(from_validation_error(exc, shown, located, tr.lang))
            continue
        source = Source(shown, located)
        library.sources[(kind, item_id, item_lang)] = source
        getattr(
            library,
            {
                "lessons": "lessons",
                "posts": "posts",
                "charter": "charters",
                "playbooks": "playbooks",
            }[kind],
        ).setdefault(item_id, {})[item_lang] = item

    problems.extend(_check(library, config, tr, present))
    return library, sorted(set(problems))


def _check(
    library: ContentLibrary, config: AppConfig, tr: Tr, present: set[tuple[str, str, str]]
) -> list[Problem]:
    """Rules across files and against app.yaml."""
    problems: list[Problem] = []
    languages = config.languages.available
    tracks = {track.id for track in config.training.tracks}
    departments = {department.id for department in config.departments}
    units = {unit.id for unit in config.business_units}
    functions = config.crisis_functions()

    def src(kind: str, item_id: str, lang: str) -> Source:
        return library.sources[(kind, item_id, lang)]

    def check_audience(kind: str, item_id: str, lang: str, audience: Any) -> None:
        source = src(kind, item_id, lang)
        for index, department in enumerate(audience.departments):
            if department not in departments:
                problems.append(
                    Problem(
                        source.path,
                        source.line("audience", "departments", index),
                        tr("no department has the id '{id}' in app.yaml", id=department),
                    )
                )
        for index, unit in enumerate(audience.business_units):
            if unit not in units:
                problems.append(
                    Problem(
                        source.path,
                        source.line("audience", "business_units", index),
                        tr("no business unit has the id '{id}' in app.yaml", id=unit),
                    )
                )

    for kind, items in (
        ("lessons", library.lessons),
        ("posts", library.posts),
        ("charter", library.charters),
        ("playbooks", library.playbooks),
    ):
        for item_id, versions in sorted(items.items()):
            # Every language present, and the same facts in each.
            any_lang = next(iter(sorted(versions)))
            for lang in languages:
                if lang not in versions and (kind, item_id, lang) not in present:
                    other = src(kind, item_id, any_lang)
                    problems.append(
                        Problem(
                            other.path,
                            1,
                            tr(
                                "no {lang} version: add {file}",
                                lang=lang,
                                file=f"{kind}/{item_id}.{lang}.md",
                            ),
                        )
                    )
            reference_lang = (
                config.languages.default if config.languages.default in versions else any_lang
            )
            reference = versions[reference_lang].invariant()
            for lang, item in versions.items():
                if lang == reference_lang:
                    continue
                for key, value in item.invariant().items():
                    if reference[key] != value:
                        source = src(kind, item_id, lang)
                        line_key = "quiz" if key in ("options", "correct") else key
                        problems.append(
                            Problem(
                                source.path,
                                source.line(line_key),
                                tr(
                                    "'{key}' differs from the {lang} version",
                                    key=key,
                                    lang=reference_lang,
                                ),
                            )
                        )

    for item_id, versions in library.lessons.items():
        for lang, lesson in versions.items():
            source = src("lessons", item_id, lang)
            correct = sum(1 for option in lesson.quiz.options if option.correct)
            if correct != 1:
                problems.append(
                    Problem(
                        source.path,
                        source.line("quiz", "options"),
                        tr.plural(
                            "a quiz needs exactly one correct option ({count} is marked correct)",
                            "a quiz needs exactly one correct option ({count} are marked correct)",
                            correct,
                            count=correct,
                        ),
                    )
                )
            if lesson.track not in tracks:
                problems.append(
                    Problem(
                        source.path,
                        source.line("track"),
                        tr(
                            "no track has the id '{id}' in app.yaml (training.tracks)",
                            id=lesson.track,
                        ),
                    )
                )
            check_audience("lessons", item_id, lang, lesson.audience)
    orders: dict[tuple[str, int], str] = {}
    for item_id in sorted(library.lessons):
        lesson = library.lesson(item_id, config.languages.default)
        if lesson is None:
            continue
        clash = orders.setdefault((lesson.track, lesson.order), item_id)
        if clash != item_id:
            source = src("lessons", item_id, next(iter(library.lessons[item_id])))
            problems.append(
                Problem(
                    source.path,
                    source.line("order"),
                    tr(
                        "lessons '{a}' and '{b}' have the same order in track '{track}'",
                        a=clash,
                        b=item_id,
                        track=lesson.track,
                    ),
                )
            )

    coordinators = set(config.people.coordinators)
    for item_id, versions in library.posts.items():
        for lang, post in versions.items():
            source = src("posts", item_id, lang)
            if post.approved_by is not None and post.approved_by not in coordinators:
                problems.append(
                    Problem(
                        source.path,
                        source.line("approved_by"),
                        tr(
                            "'{email}' is not a coordinator in app.yaml (people.coordinators)",
                            email=post.approved_by,
                        ),
                    )
                )
            if post.department is not None and post.department not in departments:
                problems.append(
                    Problem(
                        source.path,
                        source.line("department"),
                        tr("no department has the id '{id}' in app.yaml", id=post.department),
                    )
                )
            if (
                post.sensitive_topic is not None
                and config.posts.topic(post.sensitive_topic) is None
            ):
                problems.append(
                    Problem(
                        source.path,
                        source.line("sensitive_topic"),
                        tr(
                            "'{id}' is not a sensitive topic in app.yaml (posts.sensitive_topics: {topics})",
                            id=post.sensitive_topic,
                            topics=", ".join(t.id for t in config.posts.sensitive_topics) or "—",
                        ),
                    )
                )
            if post.reviewed_by is not None:
                if post.reviewed_by not in config.posts.legal_reviewers:
                    problems.append(
                        Problem(
                            source.path,
                            source.line("reviewed_by"),
                            tr(
                                "'{email}' is not a legal reviewer in app.yaml (posts.legal_reviewers)",
                                email=post.reviewed_by,
                            ),
                        )
                    )
                elif post.sensitive_topic is None:
                    problems.append(
                        Problem(
                            source.path,
                            source.line("reviewed_by"),
                            tr("only a post with a sensitive_topic needs reviewed_by"),
                        )
                    )
            if post.expires and post.approved_at and post.approved_at.date() > post.expires:
                problems.append(
                    Problem(
                        source.path,
                        source.line("expires"),
                        tr("the post expires before it was approved"),
                    )
                )
            for network in NETWORKS:
                for index, variant in enumerate(post.networks.get(network, [])):
                    if not discloses_employment(variant, lang):
                        examples = DISCLOSURE_MARKERS.get(lang) or DISCLOSURE_MARKERS["en"]
                        problems.append(
                            Problem(
                                source.path,
                                source.line("networks", network, index),
                                tr(
                                    "this suggested text does not say that its author works for "
                                    "the company: add e.g. {examples}",
                                    examples=", ".join(f"“{m}”" for m in examples[:4]),
                                ),
                            )
                        )
                    if network == "x" and len(variant) > X_LIMIT:
                        problems.append(
                            Problem(
                                source.path,
                                source.line("networks", network, index),
                                tr(
                                    "{count} characters: X allows {limit}",
                                    count=len(variant),
                                    limit=X_LIMIT,
                                ),
                            )
                        )
            check_audience("posts", item_id, lang, post.audience)

    versions_seen: dict[int, str] = {}
    for item_id, versions in sorted(library.charters.items()):
        for lang, charter in versions.items():
            source = src("charter", item_id, lang)
            if item_id != f"v{charter.version}":
                problems.append(
                    Problem(
                        source.path,
                        source.line("version"),
                        tr(
                            "version {version} must be in a file named v{version}.{lang}.md",
                            version=charter.version,
                            lang=lang,
                        ),
                    )
                )
            if not charter.sections:
                problems.append(
                    Problem(
                        source.path,
                        1,
                        tr("the charter needs sections, each starting with a '## ' heading"),
                    )
                )
            for section in charter.sections:
                if not section.text:
                    problems.append(
                        Problem(
                            source.path,
                            section.line,
                            tr("the section '{title}' is empty", title=section.title),
                        )
                    )
        charter = library._pick(library.charters, item_id, config.languages.default)
        versions_seen.setdefault(charter.version, item_id)
    ordered = sorted(versions_seen)
    for previous, current in itertools.pairwise(ordered):
        old = library._pick(library.charters, versions_seen[previous], config.languages.default)
        new = library._pick(library.charters, versions_seen[current], config.languages.default)
        if new.effective <= old.effective:
            source = src("charter", versions_seen[current], config.languages.default)
            problems.append(
                Problem(
                    source.path,
                    source.line("effective"),
                    tr(
                        "version {new} must take effect after version {old}",
                        new=current,
                        old=previous,
                    ),
                )
            )

    proposal = config.escalation.crisis_proposal
    if proposal is not None:
        named = [
            (("playbooks", i, "playbook"), r.playbook) for i, r in enumerate(proposal.playbooks)
        ]
        if proposal.default_playbook:
            named.append((("default_playbook",), proposal.default_playbook))
        for key, playbook_id in named:
            if playbook_id not in library.playbooks:
                path, line = config.where("escalation", "crisis_proposal", *key)
                dotted = ".".join(str(k) for k in ("escalation", "crisis_proposal", *key))
                problems.append(
                    Problem(
                        path,
                        line,
                        f"{dotted}: "
                        + tr("no playbook has the id '{id}' in content/playbooks", id=playbook_id),
                    )
                )
    for item_id, versions in library.playbooks.items():
        for lang, playbook in versions.items():
            source = src("playbooks", item_id, lang)
            for index, target in enumerate(playbook.notify):
                group, _, function = target.partition(":")
                if function and group != "crisis_cell":
                    problems.append(
                        Problem(
                            source.path,
                            source.line("notify", index),
                            tr("only crisis_cell takes a function, e.g. crisis_cell:legal"),
                        )
                    )
                elif function and function not in functions:
                    problems.append(
                        Problem(
                            source.path,
                            source.line("notify", index),
                            tr(
                                "no crisis cell member has the function '{function}' in app.yaml",
                                function=function,
                            ),
                        )
                    )
            for target in playbook.roles:
                group, _, function = target.partition(":")
                if target == "crisis_cell":  # the role of every notified cell member
                    notified = any(n.startswith("crisis_cell") for n in playbook.notify)
                else:
                    notified = target in playbook.notify or (
                        group == "crisis_cell" and "crisis_cell" in playbook.notify
                    )
                if function and group != "crisis_cell":
                    message = tr("only crisis_cell takes a function, e.g. crisis_cell:legal")
                elif function and function not in functions:
                    message = tr(
                        "no crisis cell member has the function '{function}' in app.yaml",
                        function=function,
                    )
                elif not notified:
                    message = tr(
                        "a role for '{target}', whom this playbook does not notify (add it to notify)",
                        target=target,
                    )
                else:
                    continue
                problems.append(Problem(source.path, source.line("roles", target), message))
    return problems


def checksum(item: Any) -> str:
    return hashlib.sha256(
        json.dumps(item.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
