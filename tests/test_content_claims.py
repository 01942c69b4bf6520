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
# Every feature the content describes exists now; add a line when content runs ahead again.
FORBIDDEN: list[tuple[str, str]] = []


def test_content_claims_no_feature_relais_does_not_have() -> None:
    found = []
    for path in sorted((ROOT / "content").rglob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, reason in FORBIDDEN:
                if re.search(pattern, line, re.IGNORECASE):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {reason}")
    assert not found, "content promises what Relais does not do:\n" + "\n".join(found)
