"""What `relais serve` carries at start-up: heavy libraries only when a feature needs them.

matplotlib, numpy and Pillow (about 40 MB) draw the digest's chart; a replica
loads them on its first chart, not at start-up (the idle memory target is
150 MB). Checked in a fresh interpreter, as `relais serve` starts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from bot.runtime import build_runtime
from bot.web import create_app
create_app(build_runtime(sys.argv[1]))
print("loaded:" + ",".join(sorted({m.split(".")[0] for m in sys.modules} & {"matplotlib", "numpy", "PIL"})))
"""


def test_serve_starts_without_the_chart_libraries(programme_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(programme_dir / "app.yaml")],
        env={"RELAIS_DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
