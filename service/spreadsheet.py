"""The guard that keeps a CSV cell from running as a spreadsheet formula.

Both ways of a CSV use it: the office export (:mod:`service.web`) guards its
cells, ``staywatch import`` (:mod:`service.importer`) takes the guard off
again. Kept apart so that the daemon does not load the importer for it.
"""

from __future__ import annotations

import re

__all__ = ["spreadsheet_cell", "unguarded_cell"]

#: A cell a spreadsheet would run as a formula (or DDE command): one that starts with
#: = + - @ (also their full-width forms, which some spreadsheets read as the ASCII
#: ones), after any blanks, or with a tab or line break.
_FORMULA = re.compile(r"\A(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20])")
#: Plain numbers (a negative days_left) are not formulas and stay numbers.
_NUMBER = re.compile(r"\A-?[0-9]+(?:\.[0-9]+)?\Z")


def _runs_as_formula(text: str) -> bool:
    if _FORMULA.match(text) and not _NUMBER.fullmatch(text):
        return True
    # A value that itself starts with the guard's apostrophe is guarded too, so that
    # reading it back never takes away an apostrophe that was really there.
    return text.startswith("'") and _runs_as_formula(text[1:])


def spreadsheet_cell(value: str) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula (a leading ``'``).

    :func:`service.importer.read_csv` undoes it, so an export imports back to the same values.
    """
    return "'" + value if _runs_as_formula(value) else value


def unguarded_cell(cell: str) -> str:
    """The value :func:`spreadsheet_cell` guarded; any other cell as it is."""
    if cell.startswith("'") and _runs_as_formula(cell[1:]):
        return cell[1:]
    return cell
