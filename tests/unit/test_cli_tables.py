"""The CLI's tables come out byte for byte as rich lays them out, however they are printed.

Big tables skip rich's per-row rendering (seconds for thousands of rows): a
table that fits is padded by hand, a wider one is wrapped cell by cell with
rich's own column widths and text wrapping. Each is compared with rich here.
"""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.table import Table

from service import cli

COLUMNS = ("Date", "Person", "Deadline", "What", "Notes", "Reminders", "Next")
NOTES = [
    "",
    "covers 2027-01",
    "offices closed (Sunday)",
    "covers 2027-01; moved from 2026-12-25: Christmas Day, Saturday, Sunday",
    "moved from 2027-02-09: Seollal (Korean New Year), Seollal (Korean New Year) "
    "substitute holiday, Sunday; offices closed (Saturday)",
    "한국어 메모: 출입국·외국인관서 방문 예약이 필요합니다",
    "averyveryverylongwordwithoutanyspacesthatcannotbewrappedanywhereatallreally",
]


def rich_output(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    table = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(width=160, highlight=False, file=out).print(table)
    return out.getvalue()


def rows_of(count: int, seed: int, notes: list[str]) -> list[tuple[str, ...]]:
    pick = random.Random(seed)
    return [
        (
            f"2027-01-{pick.randint(1, 28):02d} Mon",
            f"p{pick.randint(0, 999):05d}" if pick.random() < 0.9 else "王芳-wang",
            pick.choice(["visa", "nhis", "passport", "arc"]),
            pick.choice(["Health insurance (NHIS) premium", "Extension of stay", "여권 만료"]),
            pick.choice(notes),
            str(pick.randint(1, 9)),
            pick.choice(["", "2027-01-02 09:00"]),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_wide_table_wraps_as_rich_wraps_it(seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    rows = rows_of(cli._PLAIN_ROWS + 50, seed, NOTES)
    cli._table(COLUMNS, rows)
    assert capsys.readouterr().out == rich_output(COLUMNS, rows)


def test_a_table_that_fits_is_padded_as_rich_pads_it(capsys: pytest.CaptureFixture[str]) -> None:
    rows = rows_of(cli._PLAIN_ROWS + 50, 4, ["", "covers 2027-01", "한국어 메모"])
    cli._table(COLUMNS, rows)
    assert capsys.readouterr().out == rich_output(COLUMNS, rows)


def test_markup_and_a_header_wider_than_its_column_are_left_to_rich(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = rows_of(cli._PLAIN_ROWS + 10, 5, [*NOTES, "see [bold]this[/bold] :smile:"])
    cli._table(COLUMNS, rows)
    assert capsys.readouterr().out == rich_output(COLUMNS, rows)
    long_header = (*COLUMNS[:-1], "Next reminder, in the person's own time zone, if any")
    rows = rows_of(cli._PLAIN_ROWS + 10, 6, NOTES)
    cli._table(long_header, rows)
    assert capsys.readouterr().out == rich_output(long_header, rows)
