"""Content check: the demo passes; each broken file is reported as path:line: problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.content.library import load_library
from tests.conftest import ROOT


def check(programme_dir: Path) -> list[str]:
    config = load_config(programme_dir / "app.yaml")
    _, problems = load_library(programme_dir / "content", config, "en")
    return [str(problem) for problem in problems]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(
        i
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if needle in line
    )


def test_demo_content_is_valid_and_complete(programme_dir: Path) -> None:
    assert check(programme_dir) == []
    config = load_config(programme_dir / "app.yaml")
    library, _ = load_library(programme_dir / "content", config)
    counts = library.counts()
    assert counts["lessons"] >= 8 and counts["posts"] >= 5
    assert counts["charter_versions"] >= 2 and counts["playbooks"] >= 2
    assert library.track("basics")[0] == "welcome"
    charter_id, charter = library.current_charter("en")
    assert charter_id == "v2" and charter.sections


def test_cli_check_ok(programme_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "content",
            "check",
            str(programme_dir / "content"),
            "--config",
            str(programme_dir / "app.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:") and "26 lessons" in result.output.replace("\n", " ")


def test_two_correct_options(programme_dir: Path) -> None:
    lesson = programme_dir / "content/lessons/welcome.en.md"
    text = lesson.read_text(encoding="utf-8")
    first_option = next(line for line in text.splitlines() if line.strip().startswith("- text:"))
    edit(lesson, first_option, first_option + "\n      correct: true")
    found = check(programme_dir)
    assert (
        f"{lesson}:{line_of(lesson, 'options:')}: a quiz needs exactly one correct option (2 are marked correct)"
        in found
    )
    # ...and the languages no longer agree on which option is right.
    assert any(
        p.startswith(str(lesson)) and "'correct' differs from the fr version" in p for p in found
    )


def test_missing_language(programme_dir: Path) -> None:
    (programme_dir / "content/posts/job-fair-lyon.en.md").unlink()
    found = check(programme_dir)
    assert (
        f"{programme_dir / 'content/posts/job-fair-lyon.fr.md'}:1: no en version: add posts/job-fair-lyon.en.md"
        in found
    )


def test_bad_link_unknown_track_and_department(programme_dir: Path) -> None:
    lesson = programme_dir / "content/lessons/welcome.fr.md"
    edit(lesson, "track: basics", "track: advanced\naudience:\n  departments: [finance]")
    text = lesson.read_text(encoding="utf-8")
    link = next(line for line in text.splitlines() if line.startswith("link:"))
    edit(lesson, link, "link: not a url")
    found = check(programme_dir)
    assert (
        f"{lesson}:{line_of(lesson, 'link:')}: link: 'not a url' is not a web link (https://…)"
        in found
    )
    # Once the file parses, the references to app.yaml are checked too.
    edit(lesson, "link: not a url", link)
    found = check(programme_dir)
    assert (
        f"{lesson}:{line_of(lesson, 'track:')}: no track has the id 'advanced' in app.yaml (training.tracks)"
        in found
    )
    assert (
        f"{lesson}:{line_of(lesson, '[finance]')}: no department has the id 'finance' in app.yaml"
        in found
    )


def test_yaml_error_line_in_front_matter(programme_dir: Path) -> None:
    post = programme_dir / "content/posts/volunteering-day.en.md"
    edit(post, "title:", "title: [unclosed\nother:")
    found = [p for p in check(programme_dir) if p.startswith(str(post))]
    assert len(found) == 1 and "not valid YAML" in found[0]
    assert int(found[0].split(":")[1]) in (2, 3)


def test_post_rules(programme_dir: Path) -> None:
    post = programme_dir / "content/posts/volunteering-day.fr.md"
    edit(post, "approved_by: ", "approved_by: someone.else@example.com\nignored_by: ")
    found = [p for p in check(programme_dir) if p.startswith(str(post))]
    assert any("ignored_by: unknown key" in p for p in found), found
    edit(post, "ignored_by: ", "# ")
    found = [p for p in check(programme_dir) if p.startswith(str(post))]
    assert any("'someone.else@example.com' is not a coordinator" in p for p in found), found


def test_x_text_too_long(programme_dir: Path) -> None:
    post = programme_dir / "content/posts/winter-energy-guide.en.md"
    text = post.read_text(encoding="utf-8")
    start = text.index("  x:\n") + len("  x:\n")
    line = text[start:].splitlines()[0]
    post.write_text(text.replace(line, '    - "' + "x" * 300 + '"', 1), encoding="utf-8")
    found = [p for p in check(programme_dir) if p.startswith(str(post))]
    assert any("300 characters: X allows 280" in p for p in found), found


def test_charter_version_must_match_file(programme_dir: Path) -> None:
    charter = programme_dir / "content/charter/v2.en.md"
    edit(charter, "version: 2", "version: 3")
    found = check(programme_dir)
    assert (
        f"{charter}:{line_of(charter, 'version: 3')}: version 3 must be in a file named v3.en.md"
        in found
    )


def test_playbook_unknown_function(programme_dir: Path) -> None:
    playbook = programme_dir / "content/playbooks/phishing-campaign.en.md"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(
        text.replace("crisis_cell:legal", "crisis_cell:finance", 1), encoding="utf-8"
    )
    found = [p for p in check(programme_dir) if p.startswith(str(playbook))]
    assert any("no crisis cell member has the function 'finance'" in p for p in found), found


@pytest.mark.parametrize("name", ["Welcome.en.md", "welcome.de.md", "welcome.md"])
def test_bad_file_names(programme_dir: Path, name: str) -> None:
    (programme_dir / "content/lessons" / name).write_text("---\ntitle: x\n---\n", encoding="utf-8")
    found = [p for p in check(programme_dir) if name in p]
    assert found and found[0].endswith(
        (
            "the file name must be <id>.<language>.md, e.g. charter-basics.fr.md",
            "'de' is not one of the programme's languages (fr, en)",
        )
    )


def test_cli_check_fails_with_problems(programme_dir: Path) -> None:
    (programme_dir / "content/lessons/trolls.en.md").write_text("no front matter", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["content", "check", "--config", str(programme_dir / "app.yaml")]
    )
    assert result.exit_code == 1
    assert "trolls.en.md:1: the file must start with YAML front matter" in result.output
    assert "\n1 problem found.\n" in result.output
    assert "Traceback" not in result.output


def test_cli_check_reports_bad_config(programme_dir: Path) -> None:
    config = programme_dir / "app.yaml"
    edit(config, "hub_and_spoke", "hubspoke")
    result = CliRunner().invoke(app, ["content", "check", "--config", str(config)])
    assert result.exit_code == 1 and f"{config}:5: programme.organisation_model" in result.output


def test_running_bot_keeps_last_good_content_on_error(runtime_factory, programme_dir: Path) -> None:  # type: ignore[no-untyped-def]
    import os

    from sqlmodel import Session, select

    from bot.content.models import ContentItem
    from bot.scheduler import ProgrammeScheduler

    runtime = runtime_factory()
    scheduler = ProgrammeScheduler(runtime, wake=lambda: None)
    before = runtime.relais.content
    lesson = programme_dir / "content/lessons/trolls.en.md"
    good = lesson.read_text(encoding="utf-8")

    lesson.write_text(good.replace("quiz:", "quiz: [broken"), encoding="utf-8")
    os.utime(lesson, ns=(1, 1))  # a different mtime, whatever the clock resolution
    scheduler.scheduler.get_job("content_reload").func()
    assert runtime.relais.content is before  # the broken file did not replace anything
    assert runtime.watcher.last_problems and "trolls.en.md" in runtime.watcher.last_problems[0]

    lesson.write_text(good.replace("title: ", "title: Updated — ", 1), encoding="utf-8")
    os.utime(lesson, ns=(2, 2))
    scheduler.scheduler.get_job("content_reload").func()
    assert runtime.relais.content is not before
    assert runtime.relais.content.lesson("trolls", "en").title.startswith("Updated — ")
    assert runtime.watcher.last_problems == []
    with Session(runtime.engine) as session:
        row = session.exec(
            select(ContentItem).where(ContentItem.item_id == "trolls", ContentItem.language == "en")
        ).one()
        assert row.data["title"].startswith("Updated — ")

    lesson.unlink()
    (programme_dir / "content/lessons/trolls.fr.md").unlink()
    scheduler.scheduler.get_job("content_reload").func()
    with Session(runtime.engine) as session:
        row = session.exec(
            select(ContentItem).where(ContentItem.item_id == "trolls", ContentItem.language == "en")
        ).one()
        assert row.retired_at is not None  # kept for history, marked as gone


def test_links_and_images_are_checked_for_syntax_length_and_emptiness(programme_dir: Path) -> None:
    lesson = programme_dir / "content/lessons/welcome.fr.md"
    post = next((programme_dir / "content/posts").glob("*.en.md"))
    link = next(
        line for line in lesson.read_text(encoding="utf-8").splitlines() if line.startswith("link:")
    )
    post_link = next(
        line for line in post.read_text(encoding="utf-8").splitlines() if line.startswith("link:")
    )
    too_long = "https://norvel.example/page?" + "utm_source=x&" * 160  # over 2,000 characters
    edit(lesson, link, "link: https://:8080/no-host\nimage:")
    edit(post, post_link, f"link: {too_long}")
    result = CliRunner().invoke(
        app, ["content", "check", "--config", str(programme_dir / "app.yaml")]
    )
    assert result.exit_code != 0
    found = check(programme_dir)
    assert (
        f"{lesson}:{line_of(lesson, 'link:')}: link: 'https://:8080/no-host' is not a web link (https://…)"
        in found
    )
    assert (
        f"{lesson}:{line_of(lesson, 'image:')}: image: is empty: give a web link (https://…) or remove the line"
        in found
    )
    assert (
        f"{post}:{line_of(post, 'link:')}: link: this link is {len(too_long)} characters long: "
        "Slack and Teams show at most 2000 whole; shorten it (e.g. without tracking parameters)"
        in found
    )
    assert all(
        str(post) in line for line in result.output.splitlines() if "characters long" in line
    )


def test_suggested_text_without_disclosure_is_reported(programme_dir: Path) -> None:
    post = programme_dir / "content/posts/job-fair-lyon.en.md"
    edit(post, "newcomers welcome. (I work at Norvel) #Norvel", "newcomers welcome. #Norvel")
    assert check(programme_dir) == [
        f"{post}:{line_of(post, 'newcomers welcome. #Norvel')}: this suggested text does not say "
        "that its author works for the company: add e.g. “#employee”, “(employee)”, “I work at”, "
        "“I work for”"
    ]


def test_each_language_has_its_own_disclosure_markers(programme_dir: Path) -> None:
    from bot.content.schema import discloses_employment

    french = programme_dir / "content/posts/job-fair-lyon.fr.md"
    edit(french, "(Je travaille chez Norvel) #Norvel", "#collaboratrice #Norvel")
    assert check(programme_dir) == []
    assert discloses_employment("Bravo ! (salariée) #Norvel", "fr")
    assert not discloses_employment("Bravo ! (I work at Norvel)", "fr")  # English words in French
    assert discloses_employment("Great news, says MY EMPLOYER.", "en")  # case is ignored


def test_french_suggested_texts_do_not_assume_the_author_is_a_man() -> None:
    # Texts any ambassador posts in their own name: no masculine-only adjective about the
    # author ("Fier", "Très heureux", "ravi"…), and no "·e" forms either.
    gendered = re.compile(
        r"\b(fier|fière|heureux|heureuse|ravi|ravie|content|contente|surpris|surprise|"
        r"en tant que salarié|influenceur)\b|·",
        re.IGNORECASE,
    )
    found = []
    for path in sorted((ROOT / "content").rglob("*.fr.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in gendered.finditer(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not found, "rephrase without gender (epicene):\n" + "\n".join(found)


def test_post_approval_in_front_matter_is_optional_but_whole(programme_dir: Path) -> None:
    posts = programme_dir / "content/posts"
    for lang in ("en", "fr"):
        edit(posts / f"volunteering-day.{lang}.md", "approved_at:", "# approved_at:")
    found = check(programme_dir)
    assert any(
        "volunteering-day.en.md" in p
        and "approved_by and approved_at go together: write both (an approved post) or neither" in p
        for p in found
    ), found
    for lang in ("en", "fr"):
        path = posts / f"volunteering-day.{lang}.md"
        lines = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.startswith("approved_by:")
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert check(programme_dir) == []
    result = CliRunner().invoke(
        app, ["content", "check", "--config", str(programme_dir / "app.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "1 post has no approved_by in its front matter: it will wait for approval in chat"
        in result.output.replace("\n", " ")
    )


def test_post_department_topic_and_legal_reviewer_are_checked(programme_dir: Path) -> None:
    path = programme_dir / "content/posts/job-fair-lyon.en.md"
    edit(
        path,
        "expires: 2027-03-18",
        "expires: 2027-03-18\ndepartment: nowhere\nsensitive_topic: gossip\n"
        "reviewed_by: emma.wilson@example.com",
    )
    found = check(programme_dir)
    assert f"{path}:15: no department has the id 'nowhere' in app.yaml" in found
    assert (
        f"{path}:16: 'gossip' is not a sensitive topic in app.yaml "
        "(posts.sensitive_topics: financial-results, legal-proceedings)" in found
    )
    assert (
        f"{path}:17: 'emma.wilson@example.com' is not a legal reviewer in app.yaml "
        "(posts.legal_reviewers)" in found
    )


def test_sensitive_topics_need_a_legal_reviewer(programme_dir: Path) -> None:
    config = programme_dir / "app.yaml"
    edit(config, "  legal_reviewers: [nathalie.blanc@example.com]\n", "")
    result = CliRunner().invoke(app, ["content", "check", "--config", str(config)])
    assert result.exit_code == 1
    assert (
        "posts.sensitive_topics: posts on a sensitive topic need a legal reviewer's approval: "
        "name at least one in posts.legal_reviewers" in result.output.replace("\n", " ")
    )
