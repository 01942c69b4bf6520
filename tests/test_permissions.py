"""The permission model: who may do what, over whom, in each organisation model.

The expected grids below are written out by hand from the roles and the
organisation models of DESIGN.md, not computed from ``bot.permissions``'s own
tables: a change to a grant has to be made in both places, on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import permissions as p
from bot.config import AppConfig, load_config
from bot.permissions import EVERYONE, Actor, Permissions, Target
from tests.conftest import DEMO_CONFIG

# Columns of the grids, in this order.
COLUMNS = (
    p.USE,
    p.SHARE,
    p.REPORT,
    p.STATS,
    p.RESULTS,
    p.REPORTS_LIST,
    p.ACKNOWLEDGE,
    p.REASSIGN,
    p.RESOLVE,
    p.DIGEST,
    p.BROADCAST,
    p.SUBMIT,
    p.APPROVE,
    p.REVIEW,
    p.CRISIS,
    p.CRISIS_BOARD,
    p.MEMBERS,
    p.CHARTER_REMIND,
    p.DELIVERY,
    p.CHARTER_DRAFT,
    p.CHARTER_SIGN_OFF,
)

# - not allowed; O own things only; D departments; B business units; P the whole programme.
#                    use shr rep sta res lst ack ras rsv dig brd sub apr rev cri crb mem chr del drf sgn
EXPECTED = {
    "centralized": """
        member        O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        ambassador    O   O   O   O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        relay         O   O   O   D   -   D   D   D   D   -   -   -   -   -   -   D   -   -   -   -   -
        hub           O   O   O   B   -   B   B   B   B   -   -   -   -   -   -   B   -   -   -   -   -
        manager       O   O   O   D   -   -   -   -   -   D   -   -   -   -   -   D   -   -   -   -   -
        coordinator   O   O   O   P   P   P   P   P   P   P   P   P   P   -   P   P   P   P   -   P   -
        crisis_cell   O   O   O   O   -   -   O   O   O   -   -   -   -   -   P   P   -   -   -   -   -
        legal         O   O   O   O   -   -   -   -   -   -   -   -   -   P   -   -   -   -   -   -   -
        charter_signatory -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   P   P
        operator      P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P
        nobody        -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
    """,
    # Any relay broadcasts to, and approves for, its own department; the central team does not broadcast.
    "organic": """
        member        O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        ambassador    O   O   O   O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        relay         O   O   O   D   -   D   D   D   D   -   D   D   D   -   -   D   -   -   -   -   -
        hub           O   O   O   B   -   B   B   B   B   -   -   -   -   -   -   B   -   -   -   -   -
        manager       O   O   O   D   -   -   -   -   -   D   -   -   -   -   -   D   -   -   -   -   -
        coordinator   O   O   O   P   P   P   P   P   P   P   -   P   P   -   P   P   P   P   -   P   -
        crisis_cell   O   O   O   O   -   -   O   O   O   -   -   -   -   -   P   P   -   -   -   -   -
        legal         O   O   O   O   -   -   -   -   -   -   -   -   -   P   -   -   -   -   -   -   -
        charter_signatory -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   P   P
        operator      P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P
        nobody        -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
    """,
    # The central team broadcasts; relays too, inside their department, but they do not approve.
    "hub_and_spoke": """
        member        O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        ambassador    O   O   O   O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        relay         O   O   O   D   -   D   D   D   D   -   D   D   -   -   -   D   -   -   -   -   -
        hub           O   O   O   B   -   B   B   B   B   -   -   -   -   -   -   B   -   -   -   -   -
        manager       O   O   O   D   -   -   -   -   -   D   -   -   -   -   -   D   -   -   -   -   -
        coordinator   O   O   O   P   P   P   P   P   P   P   P   P   P   -   P   P   P   P   -   P   -
        crisis_cell   O   O   O   O   -   -   O   O   O   -   -   -   -   -   P   P   -   -   -   -   -
        legal         O   O   O   O   -   -   -   -   -   -   -   -   -   P   -   -   -   -   -   -   -
        charter_signatory -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   P   P
        operator      P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P
        nobody        -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
    """,
    # Each business unit's hub broadcasts to and approves for its unit; the central team for all.
    "dandelion": """
        member        O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        ambassador    O   O   O   O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        relay         O   O   O   D   -   D   D   D   D   -   -   -   -   -   -   D   -   -   -   -   -
        hub           O   O   O   B   -   B   B   B   B   -   B   B   B   -   -   B   -   -   -   -   -
        manager       O   O   O   D   -   -   -   -   -   D   -   -   -   -   -   D   -   -   -   -   -
        coordinator   O   O   O   P   P   P   P   P   P   P   P   P   P   -   P   P   P   P   -   P   -
        crisis_cell   O   O   O   O   -   -   O   O   O   -   -   -   -   -   P   P   -   -   -   -   -
        legal         O   O   O   O   -   -   -   -   -   -   -   -   -   P   -   -   -   -   -   -   -
        charter_signatory -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   P   P
        operator      P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P
        nobody        -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
    """,
    # The central team and the relays broadcast; relays approve for their department.
    "honeycomb": """
        member        O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        ambassador    O   O   O   O   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
        relay         O   O   O   D   -   D   D   D   D   -   D   D   D   -   -   D   -   -   -   -   -
        hub           O   O   O   B   -   B   B   B   B   -   -   -   -   -   -   B   -   -   -   -   -
        manager       O   O   O   D   -   -   -   -   -   D   -   -   -   -   -   D   -   -   -   -   -
        coordinator   O   O   O   P   P   P   P   P   P   P   P   P   P   -   P   P   P   P   -   P   -
        crisis_cell   O   O   O   O   -   -   O   O   O   -   -   -   -   -   P   P   -   -   -   -   -
        legal         O   O   O   O   -   -   -   -   -   -   -   -   -   P   -   -   -   -   -   -   -
        charter_signatory -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   P   P
        operator      P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P   P
        nobody        -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -   -
    """,
}

# Relays' community (#14): the same grid in every organisation model.
COMMUNITY_COLUMNS = (p.DIRECTORY, p.PRACTICE_SHARE, p.PRACTICE_APPROVE, p.MEETING)
#                    dir prs pra mtg
COMMUNITY = """
        member        -   -   -   -
        ambassador    -   -   -   -
        relay         P   D   -   -
        hub           P   B   -   -
        manager       -   -   -   -
        coordinator   P   P   P   P
        crisis_cell   -   -   -   -
        legal         -   -   -   -
        charter_signatory -   -   -   -
        operator      P   P   P   P
        nobody        -   -   -   -
"""

ME = 1
SOMEONE_ELSE = 2
# Every test actor covers the same things; the role decides which of them an action reaches.
RELAYED = "sales"  # business unit "business"
MANAGED = "hr"  # business unit "business"
HUB = "business"  # sales, hr, legal
OUTSIDE = "communication"  # business unit "residential"


def principal(name: str) -> Actor:
    if name == "nobody":
        return Actor.nobody()
    if name == "operator":
        return Actor.operator()
    return Actor(
        member_id=ME,
        roles=frozenset({name}),
        relay_departments=frozenset({RELAYED}),
        managed_departments=frozenset({MANAGED}),
        hub_units=frozenset({HUB}),
    )


def parse(grid: str, columns: tuple[str, ...] = COLUMNS) -> dict[str, dict[str, str]]:
    table = {}
    for line in grid.strip().splitlines():
        name, *cells = line.split()
        assert len(cells) == len(columns), line
        table[name] = dict(zip(columns, cells, strict=True))
    return table


def config_for(model: str, tmp_path: Path) -> AppConfig:
    """The demo programme under another organisation model (its defaults, no overrides)."""
    source = DEMO_CONFIG.read_text(encoding="utf-8")
    assert "organisation_model: hub_and_spoke" in source
    path = tmp_path / f"{model}.yaml"
    path.write_text(
        source.replace("organisation_model: hub_and_spoke", f"organisation_model: {model}"),
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.programme.organisation_model == model
    return config


# The trust actions (audit log, personal data) are the same in every organisation model.
TRUST_COLUMNS = (p.AUDIT, p.PRIVACY, p.ERASE)
#                    aud prv era
TRUST = """
        member        -   O   -
        ambassador    -   O   -
        relay         -   O   -
        hub           -   O   -
        manager       -   O   -
        coordinator   P   O   -
        crisis_cell   -   O   -
        legal         -   O   -
        charter_signatory  -   -   -
        operator      P   P   P
        nobody        -   -   -
"""


def test_the_grids_cover_every_action_and_principal() -> None:
    assert set(COLUMNS) | set(COMMUNITY_COLUMNS) | set(TRUST_COLUMNS) == set(p.ACTIONS)
    assert not set(COLUMNS) & set(COMMUNITY_COLUMNS)
    assert not (set(COLUMNS) | set(COMMUNITY_COLUMNS)) & set(TRUST_COLUMNS)
    for grid in EXPECTED.values():
        assert set(parse(grid)) == (set(p.PRINCIPALS) | {"nobody"})
    assert set(parse(COMMUNITY, COMMUNITY_COLUMNS)) == (set(p.PRINCIPALS) | {"nobody"})
    assert set(parse(TRUST, TRUST_COLUMNS)) == (set(p.PRINCIPALS) | {"nobody"})


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_trust_matrix(model: str, tmp_path: Path) -> None:
    rules = Permissions(config_for(model, tmp_path))
    wrong = [
        f"{name} {action}: expected {cell}, found {found}"
        for name, row in parse(TRUST, TRUST_COLUMNS).items()
        for action, cell in row.items()
        if (found := describe(rules, principal(name), action)) != cell
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_permission_matrix(model: str, tmp_path: Path) -> None:
    rules = Permissions(config_for(model, tmp_path))
    wrong = []
    rows = parse(EXPECTED[model])
    for name, row in parse(COMMUNITY, COMMUNITY_COLUMNS).items():
        rows[name] = {**rows[name], **row}
    for name, row in rows.items():
        actor = principal(name)
        for action, cell in row.items():
            found = describe(rules, actor, action)
            if found != cell:
                wrong.append(f"{name} {action}: expected {cell}, found {found}")
    assert not wrong, "\n".join(wrong)


def describe(rules: Permissions, actor: Actor, action: str) -> str:
    """The grid letter for what ``reach`` and ``allows`` say, checking they agree."""
    reach = rules.reach(actor, action)
    allowed = rules.allows(actor, action)
    assert allowed == (not reach.none)
    if reach.none:
        # Not granted: no target at all is allowed, not even the actor's own things.
        assert not rules.allows(actor, action, Target(member_id=actor.member_id or ME))
        assert not rules.allows(actor, action, Target(department=RELAYED, business_unit=HUB))
        assert not rules.allows(actor, action, EVERYONE)
        return "-"
    if reach.programme:
        assert rules.allows(actor, action, Target(department=OUTSIDE))
        assert rules.allows(actor, action, EVERYONE)
        return "P"
    assert reach.own and not rules.allows(actor, action, EVERYONE)
    assert rules.allows(actor, action, Target(member_id=ME))
    assert not rules.allows(actor, action, Target(member_id=SOMEONE_ELSE, department=OUTSIDE))
    if reach.business_units:
        assert reach.business_units == {HUB} and not reach.departments
        assert rules.allows(actor, action, Target(department="legal"))  # a department of the unit
        assert rules.allows(actor, action, Target(business_unit=HUB))
        return "B"
    if reach.departments:
        assert not reach.business_units and len(reach.departments) == 1
        (department,) = reach.departments
        assert rules.allows(actor, action, Target(member_id=SOMEONE_ELSE, department=department))
        assert not rules.allows(actor, action, Target(department="legal"))
        assert not rules.allows(actor, action, Target(business_unit=HUB))
        # A relay's reach is the department they relay, a manager's the one they manage.
        return "D" if department == (MANAGED if "manager" in actor.roles else RELAYED) else "D?"
    return "O"


# Real people of the demo programme (hub_and_spoke), as the chat builds them.
DEMO = load_config(DEMO_CONFIG)
RULES = Permissions(DEMO)


def person(
    email: str,
    department: str,
    roles: tuple[str, ...] = ("ambassador",),
    member_id: int = 100,
) -> Actor:
    return RULES.actor(member_id, email, department, roles, opted_in="ambassador" in roles)


def test_a_relay_acknowledges_reports_of_their_department_only() -> None:
    karim = person("karim.benali@example.com", "customer-service")
    assert "relay" in karim.roles
    assert RULES.allows(karim, p.ACKNOWLEDGE, Target(department="customer-service"))
    assert not RULES.allows(karim, p.ACKNOWLEDGE, Target(department="sales"))
    assert not RULES.allows(karim, p.ACKNOWLEDGE, Target(department=None))


def test_a_hub_covers_the_departments_of_their_unit_only() -> None:
    ines = person("ines.moreau@example.com", "marketing")  # hub of residential
    assert "hub" in ines.roles
    for department in ("communication", "customer-service", "marketing"):
        assert RULES.allows(ines, p.ACKNOWLEDGE, Target(department=department)), department
    for department in ("sales", "hr", "legal"):
        assert not RULES.allows(ines, p.ACKNOWLEDGE, Target(department=department)), department
    assert RULES.reach(ines, p.REPORTS_LIST).business_units == {"residential"}


def test_a_managers_stats_reach_only_their_departments() -> None:
    sophie = person("sophie.laurent@example.com", "communication", roles=())
    reach = RULES.reach(sophie, p.STATS)
    assert not reach.programme and reach.departments == {"communication", "marketing"}
    julien = person("julien.roux@example.com", "sales", roles=())
    reach = RULES.reach(julien, p.STATS)
    assert not reach.programme and reach.departments == {"sales", "hr", "legal"}
    assert not RULES.allows(julien, p.STATS, Target(department="marketing"))
    # A manager given in the CSV manages their own department.
    csv_manager = person("someone@example.com", "legal", roles=("manager",))
    assert RULES.reach(csv_manager, p.DIGEST).departments == {"legal"}


def test_the_coordinator_covers_the_programme() -> None:
    claire = person("claire.dubois@example.com", "communication")
    for action in (p.STATS, p.RESULTS, p.REPORTS_LIST, p.ACKNOWLEDGE, p.APPROVE, p.BROADCAST):
        assert RULES.reach(claire, action).programme, action
        assert RULES.allows(claire, action, Target(department="legal")), action
        assert RULES.allows(claire, action, EVERYONE), action


def test_an_assignee_may_act_on_what_was_sent_to_them() -> None:
    marc = person("marc.fontaine@example.com", "customer-service", roles=(), member_id=7)
    assert "crisis_cell" in marc.roles
    escalated = Target(department="sales", holders=frozenset({7, 8}))
    assert RULES.allows(marc, p.ACKNOWLEDGE, escalated)
    assert not RULES.allows(marc, p.ACKNOWLEDGE, Target(department="sales", holders=frozenset({8})))
    # Holding something gives no right the person's roles do not have.
    emma = person("emma.wilson@example.com", "sales", member_id=8)
    assert not RULES.allows(emma, p.ACKNOWLEDGE, escalated)


def test_everyone_needs_a_programme_wide_grant() -> None:
    karim = person("karim.benali@example.com", "customer-service")
    assert RULES.allows(karim, p.BROADCAST, Target(department="customer-service"))
    assert not RULES.allows(karim, p.BROADCAST, EVERYONE)
    thomas = person("thomas.girard@example.com", "sales")  # relay of sales and hub of business
    assert not RULES.allows(thomas, p.STATS, EVERYONE)
    claire = person("claire.dubois@example.com", "communication")
    assert RULES.allows(claire, p.BROADCAST, EVERYONE)
    assert RULES.allows(Actor.operator(), p.MEMBERS, EVERYONE)
    assert not RULES.allows(Actor.nobody(), p.USE, EVERYONE)


# Through the chat: the demo programme and its members.


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def test_an_ambassador_is_refused_results_and_reports(chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat("emma.wilson@example.com")  # reads English
    refused = texts(emma.type("results"))
    assert (
        "Sorry, you may not see lesson results. Ask your programme coordinator if you should."
        in refused
    )
    refused = texts(emma.type("reports"))
    assert "Sorry, you may not see reported mentions." in refused
    noah = chat("noah.bernard@example.com")  # reads French
    assert "Vous ne pouvez pas voir les mentions signalées." in texts(noah.type("reports"))


def test_a_managers_stats_show_their_departments_only(chat) -> None:  # type: ignore[no-untyped-def]
    every = {"Communications", "Customer service", "Marketing", "Sales", "Human resources", "Legal"}
    sophie = chat("sophie.laurent@example.com")
    sophie.type("lang en")
    shown = texts(sophie.type("stats"))
    mine = {"Communications", "Marketing"}
    assert all(name in shown for name in mine)
    assert not [name for name in every - mine if name in shown]
    assert "The whole programme" not in shown
    julien = chat("julien.roux@example.com")
    julien.type("lang en")
    shown = texts(julien.type("stats"))
    mine = {"Sales", "Human resources", "Legal"}
    assert all(name in shown for name in mine)
    assert not [name for name in every - mine if name in shown]
    assert "The whole programme" not in shown


def commands_in_help(shown: str) -> set[str]:
    return {line.split("`")[1].split(" ")[0] for line in shown.splitlines() if line.startswith("•")}


def test_help_lists_only_what_the_person_may_run(chat) -> None:  # type: ignore[no-untyped-def]
    emma = commands_in_help(texts(chat("emma.wilson@example.com").type("help")))
    assert {"help", "lesson", "share", "report", "stats"} <= emma
    assert "results" not in emma and "reports" not in emma
    karim = commands_in_help(texts(chat("karim.benali@example.com").type("help")))  # a relay
    assert "reports" in karim and "results" not in karim
    claire = commands_in_help(texts(chat("claire.dubois@example.com").type("help")))
    assert {"results", "reports", "stats", "report"} <= claire
