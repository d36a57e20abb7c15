"""The rows the store is given carry the plan's own instants, across every DST change."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest

from service.config import parse_config
from service.plan import plan
from service.planrows import FRESH_COLUMNS, fingerprint, fresh_for, planned_for, sqlite_instant
from tests.reliability.test_time import DST_ZONES, LEADS, SEND_TIMES, config_text, transitions

YEAR = 2027


def deadlines_around_transitions(zone: str) -> str:
    """Daily deadlines over each of the zone's changes, with every lead time and an overdue."""
    days = transitions(zone, YEAR) or (date(YEAR, 3, 28),)
    remind = ", ".join(f'"{lead}"' for lead in LEADS)
    return "".join(
        f'\n  [[person.deadline]]\n  id = "t{n}"\n  kind = "custom"\n  title = "T"\n'
        f'  rrule = "FREQ=DAILY"\n  start = {day - timedelta(days=2)}\n'
        f"  until = {day + timedelta(days=2)}\n  remind = [{remind}]\n"
        f'  overdue = ["PT1H", "PT30M"]\n  roll = "none"\n'
        for n, day in enumerate(days)
    )


@pytest.mark.parametrize("zone", DST_ZONES)
def test_every_row_is_due_at_its_reminders_instant_in_any_zone(zone: str) -> None:
    # Two wall-clock times of one zone compare equal by their reading alone
    # (01:30 before and after a fall-back): a row must still get its own instant.
    for send_time in SEND_TIMES:
        text = config_text(zone, send_time, deadlines_around_transitions(zone))
        config = parse_config(text, Path("staywatch.toml"), today=date(YEAR, 1, 1))
        occurrences = plan(config, date(YEAR, 1, 1), date(YEAR, 12, 31))
        rows = planned_for(occurrences, ["ana"])
        expected = {
            r.key: r.due.astimezone(UTC)
            for occ in occurrences
            for r in (*occ.reminders, *occ.escalations)
        }
        got = {key: row["due"] for key, row in rows.rows["ana"].items()}
        assert got == expected, (zone, send_time)
        assert all(due.tzinfo is UTC for due in got.values())
        # The shared text cache changes no fingerprint.
        assert rows.prints["ana"] == fingerprint(rows.rows["ana"].values()), (zone, send_time)
        # The rows of a first start: the same instants and fingerprints, in one pass.
        fresh = fresh_for(occurrences, ["ana"])
        assert fresh.prints == rows.prints, (zone, send_time)
        due = FRESH_COLUMNS.index("due")
        stored = {row[0]: row[due] for row in json.loads(fresh.document)}
        assert stored == {key: sqlite_instant(when) for key, when in expected.items()}
        assert fresh.count == len(expected)
