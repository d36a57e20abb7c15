"""The store window reaches back to the last overdue repeat of any deadline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.config import parse_config
from service.plan import longest_overdue_days, plan

TODAY = date(2027, 1, 1)
OVERDUE = ["P1D", "P3D", "P10D", "P40D", "PT12H", "P1M", "P1M10D"]


def person(n: int, overdue: list[str] | None) -> str:
    """A person with a period of stay (its kind's overdue list) and a custom deadline.

    ``overdue``: the custom deadline's own list; None, its kind's; [], none at all.
    """
    given_overdue = "" if overdue is None else f"overdue = [{', '.join(map(repr, overdue))}]\n"
    if overdue == []:
        given_overdue = "overdue = false\n"
    return (
        f'\n[[person]]\nid = "p{n}"\nname = "P {n}"\nemail = ["p{n}@example.org"]\n'
        f'\n  [[person.deadline]]\n  id = "stay"\n  kind = "stay_expiry"\n  date = 2027-03-02\n'
        f'\n  [[person.deadline]]\n  id = "c"\n  kind = "custom"\n  title = "C"\n'
        f"  date = 2027-02-01\n  {given_overdue}"
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.none() | st.lists(st.sampled_from(OVERDUE), max_size=3, unique=True),
        min_size=1,
        max_size=6,
    )
)
def test_the_window_reaches_the_last_overdue_repeat_of_everyone(
    lists: list[list[str] | None],
) -> None:
    # Several people sharing one overdue list, others with their own: the window
    # is the longest of them all, as planning each occurrence shows.
    text = "".join(person(n, overdue) for n, overdue in enumerate(lists))
    config = parse_config(text, Path("staywatch.toml"), today=TODAY)
    occurrences = plan(config, TODAY, date(2027, 12, 31))
    latest = max(
        ((r.due.date() - occ.date).days for occ in occurrences for r in occ.reminders if r.overdue),
        default=0,
    )
    assert longest_overdue_days(config) >= latest
    # Not far beyond: a month counts as up to 31 days, and the day of the deadline.
    assert longest_overdue_days(config) <= latest + 4
