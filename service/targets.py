"""Where a reminder goes: its (channel, target) pairs under a config.

Email's targets are the person's own message (target ``""``: To the person's
addresses) and one separate copy per ``recipients`` address of the deadline
(target = the address); an office's escalation goes to the office (target
``""``). Chat channels add their ``(channel id, {to})`` pairs here.
"""

from __future__ import annotations

from service.config import Config
from service.keys import escalation_office
from service.store.models import EMAIL, OWN


def targets_of(
    config: Config, person: str, deadline: str, occurrence: str
) -> list[tuple[str, str]]:
    """The (channel, target) pairs of a reminder of ``person``'s ``deadline``, own email first."""
    if escalation_office(occurrence) is not None:
        return [(EMAIL, OWN)]
    wanted = [(EMAIL, OWN)]
    entry = config.person(person)
    if entry is not None:
        found = next((d for d in entry.deadlines if d.id == deadline), None)
        if found is not None:
            wanted.extend((EMAIL, str(address)) for address in found.recipients)
    return list(dict.fromkeys(wanted))


def planned_channels(
    config: Config, person: str, deadline: str, occurrence: str
) -> list[dict[str, str]]:
    """The ``channels`` entries of a reminder not sent yet: every target, ``pending``."""
    out = []
    for channel, target in targets_of(config, person, deadline, occurrence):
        entry = {"channel": channel, "status": "pending"}
        if target:
            entry["target"] = target
        out.append(entry)
    return out
