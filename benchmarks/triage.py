"""Benchmark: triage speed, and how long building the model takes.

Prints, side by side from the same run:

- the baseline: reading the texts alone (accents folded, words and phrases found),
  the part of triage no model can skip;
- classifications per second with the shipped model (the evaluation set, repeated);
- classifications per second through ``bot.triage.service.classify`` on SQLite,
  which also checks the corrections table each time (one indexed query);
- building the model: the shipped training set, then with stored corrections
  (what each process does once, and again after a relay corrects a category).

    .venv/bin/python benchmarks/triage.py [--passes 20] [--corrections 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.members.models import Member  # noqa: E402
from bot.response import triage  # noqa: E402
from bot.triage import service  # noqa: E402

EVALUATION = ROOT / "tests" / "data" / "triage_evaluation.jsonl"


def timed(work, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of ``work()`` over ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--corrections", type=int, default=1000)
    args = parser.parse_args()

    with EVALUATION.open(encoding="utf-8") as handle:
        examples = list(triage.read_examples(handle))
    texts = [e.text for e in examples] * args.passes
    print(f"{len(texts)} texts ({len(examples)} evaluation texts × {args.passes})")

    build = timed(triage.train)
    model = triage.train()

    def read_only() -> None:
        for text in texts:
            triage.features(text)

    def classify_all() -> None:
        for text in texts:
            model.classify(text, reporters=1)

    baseline = timed(read_only, repeat=3)
    shipped = timed(classify_all, repeat=3)

    extra = [
        triage.Example(text=e.text, category=e.category)
        for e in (triage.shipped_examples() * (args.corrections // 380 + 1))[: args.corrections]
    ]
    with_corrections = timed(lambda: triage.train(extra, weight=service.CORRECTION_WEIGHT))

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        with session_scope(engine) as session:
            relay = Member(
                email="relay@example.com", name="Relay", language="fr", time_zone="Europe/Paris"
            )
            session.add(relay)
            session.flush()
            for example in extra[:200]:
                service.record_correction(
                    session,
                    text=example.text,
                    predicted="other" if example.category != "other" else "praise",
                    corrected=example.category,
                    member_id=relay.id or 0,
                )
        with Session(engine) as session:
            service.model_for(session)  # built once, as a process does on its first triage
            sample = texts[: len(examples) * 2]

            def through_service() -> None:
                for text in sample:
                    service.classify(session, text)

            database = timed(through_service, repeat=3)
        engine.dispose()

    print()
    print(f"{'':52} {'texts/s':>10} {'µs/text':>9}")
    rows = [
        ("baseline: read the text (fold, words, phrases)", baseline, len(texts)),
        ("classify, shipped model", shipped, len(texts)),
        ("classify through the service (SQLite, 200 corrections)", database, len(sample)),
    ]
    for label, seconds, count in rows:
        print(f"{label:52} {count / seconds:>10,.0f} {seconds / count * 1e6:>9.0f}")
    print()
    print(
        f"build the shipped model ({len(triage.shipped_examples())} texts): {build * 1000:.0f} ms"
    )
    print(
        f"build it with {len(extra)} stored corrections: {with_corrections * 1000:.0f} ms "
        "(each process, after a relay's correction)"
    )


if __name__ == "__main__":
    main()
