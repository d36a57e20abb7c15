"""Every error a user can cause, under one root.

Each class carries the facts of the failure and builds its own message, so
the CLI boundary only has to print ``str(error)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class StaywatchError(Exception):
    """staywatch could not do what was asked."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One located problem in a config file."""

    path: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" if self.line else self.path
        where = f" {self.where}:" if self.where else ""
        return f"{place}:{where} {self.message}"


#: A message lists this many problems, then how many more there are.
SHOWN_PROBLEMS = 200


def problem_lines(problems: Sequence[object], limit: int = SHOWN_PROBLEMS) -> list[str]:
    """The first ``limit`` problems as lines, then one line counting the rest."""
    lines = [str(p) for p in problems[:limit]]
    rest = len(problems) - limit
    if rest > 0:
        lines.append(f"... and {rest} more problem{'s' if rest != 1 else ''}")
    return lines


class ConfigError(StaywatchError):
    """The config file is not valid."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the config"
        super().__init__(head + ":\n" + "\n".join(problem_lines(self.problems)))


class ReferenceError_(StaywatchError):
    """A person or deadline named on the command line does not exist."""


class UnknownPerson(ReferenceError_):
    """No such person in the config."""

    def __init__(self, person: str, known: Sequence[str]) -> None:
        self.person = person
        hint = f"; known: {', '.join(known[:10])}" + (" ..." if len(known) > 10 else "")
        super().__init__(f"no person '{person}' in the config{hint if known else ''}")


class UnknownDeadline(ReferenceError_):
    """No such deadline for that person."""

    def __init__(self, person: str, deadline: str, known: Sequence[str]) -> None:
        self.person = person
        self.deadline = deadline
        hint = f"; {person} has: {', '.join(known)}" if known else ""
        super().__init__(f"person '{person}' has no deadline '{deadline}'{hint}")


class StoreError(StaywatchError):
    """The database could not be used."""


class DeliveryError(StaywatchError):
    """An email could not be delivered."""


class TransientDeliveryError(DeliveryError):
    """Delivery failed for now; try again later (4xx reply, connection trouble)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class PermanentDeliveryError(DeliveryError):
    """The mail server refused the message for good (5xx reply)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)
