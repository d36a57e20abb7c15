"""Where a reminder goes: its (channel, target) pairs under a config.

Email's targets are the person's own message (target ``""``: To the person's
addresses) and one separate copy per ``recipients`` address of the deadline
(target = the address); an office's escalation goes to the office (target
``""``). Chat channels add their ``(channel id, {to})`` pairs: the person's
``notify`` table, or the office's for an escalation.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.config import Config
from service.keys import escalation_office
from service.store.models import EMAIL, OWN


def channel_targets(config: Config, notify: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (channel, target) pairs of a ``notify`` table, for channels the config has."""
    return [(cid, target) for cid, target in notify.items() if config.channel(cid) is not None]


def targets_of(
    config: Config, person: str, deadline: str, occurrence: str
) -> list[tuple[str, str]]:
    """The (channel, target) pairs of a reminder of ``person``'s ``deadline``, own email first.

    ``email_reminders = false`` leaves out the person's own email; copies to the
    deadline's ``recipients`` (an office, a parent) still go. The person's
    ``notify`` channels follow; an escalation goes to the office's email and its
    ``notify`` channels.
    """
    office_id = escalation_office(occurrence)
    if office_id is not None:
        office = config.office(office_id)
        return [(EMAIL, OWN), *channel_targets(config, office.notify if office else {})]
    entry = config.person(person)
    if entry is None:
        return [(EMAIL, OWN)]
    wanted = [(EMAIL, OWN)] if entry.email_reminders else []
    found = next((d for d in entry.deadlines if d.id == deadline), None)
    if found is not None:
        wanted.extend((EMAIL, str(address)) for address in found.recipients)
    wanted.extend(channel_targets(config, entry.notify))
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
