"""Content promises only what Relais does today.

Lessons, the charter and playbooks may describe the programme's human process
("the crisis cell declares the crisis"), but not a Relais feature that does not
exist yet. Each phrase below names such a feature; when the feature lands,
remove its line (and let the content say it again).
"""

from __future__ import annotations

import re

from tests.conftest import ROOT

# (pattern, why it is false today): matched ignoring case, in every language's files.
FORBIDDEN: list[tuple[str, str]] = [
    (
        r"backup relay|relais de secours|escalation chain|chaîne d'escalade|next link in the chain"
        r"|maillon suivant",
        "nothing escalates automatically when the acknowledgement deadline passes",
    ),
    (
        r"relay of the right department|relais du service concerné|classified for your department"
        r"|classées pour votre service|which passes it on to customer service"
        r"|qui le transmet au service client|the customer service relay picks it up"
        r"|le relais du service client le reçoit",
        "a report goes to the reporter's own department, not to the department it is about",
    ),
]


def test_content_claims_no_feature_relais_does_not_have() -> None:
    found = []
    for path in sorted((ROOT / "content").rglob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, reason in FORBIDDEN:
                if re.search(pattern, line, re.IGNORECASE):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {reason}")
    assert not found, "content promises what Relais does not do:\n" + "\n".join(found)


def test_the_forbidden_phrases_match_what_they_describe() -> None:
    samples = [
        "Once that time is up, it passes it on to the next link in the chain",
        "it will be passed to the relay of the right department",
    ]
    for sample in samples:
        assert any(re.search(p, sample, re.IGNORECASE) for p, _ in FORBIDDEN), sample
