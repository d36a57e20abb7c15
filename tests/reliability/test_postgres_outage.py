"""Scenario 6: the PostgreSQL server is stopped for 60 s in the middle of a burst.

This stops the shared local cluster (``pg_ctlcluster ... stop``) and always
starts it again, whatever happens. It runs only with ``-m slow``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.config import load_config
from service.dispatcher import BATCH
from tests.fixtures.daemon import DaemonProcess, free_port, wait_until
from tests.reliability.helpers import (
    at_deadlines,
    count_maildir,
    pause,
    people,
    pg_ctl,
    pg_rows,
    scan_maildir,
    service_config,
)

OUTAGE = 60.0
RESUME_WITHIN = 30.0


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_postgresql_down_for_60_s_mid_burst(
    tmp_path: Path, pg_db: str, run_daemon: Callable[..., DaemonProcess]
) -> None:
    count = 6000
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    port = free_port()
    path = tmp_path / "staywatch.toml"
    body = people(count // 10, lambda i: at_deadlines(at, 10))
    path.write_text(service_config(database=pg_db, port=port, body=body), "utf-8")
    config = load_config(path)
    day = at.astimezone(config.zone_of(config.people[0])).date()
    keys = {f"p{i:05d}/d{j}/{day}/PT0S" for i in range(count // 10) for j in range(10)}
    maildir = tmp_path / "var" / "mail"

    daemon = run_daemon(path)
    daemon.wait_ready()
    wait_until(lambda: count_maildir(maildir) >= 1000, 60, "the burst to be under way")
    unhealthy: list[float] = []
    try:
        pg_ctl("stop")
        stopped = time.monotonic()
        at_stop = count_maildir(maildir)
        _, health = wait_until(
            lambda: (h := healthz(port))[0] == 503 and h, 20, "/healthz to say unhealthy"
        )
        unhealthy.append(time.monotonic() - stopped)
        assert health["db"] is False
        # The outage lasts 60 s; the daemon stays up and keeps saying it is unhealthy.
        while time.monotonic() - stopped < OUTAGE:
            assert daemon.proc.poll() is None, daemon.stderr[-3000:]
            assert healthz(port)[0] == 503
            pause(1)
    finally:
        pg_ctl("start")
    restarted = time.monotonic()
    mark = count_maildir(maildir)
    wait_until(
        lambda: count_maildir(maildir) > mark,
        RESUME_WITHIN + 30,
        "sending to resume after the database came back",
    )
    resumed = time.monotonic() - restarted
    wait_until(lambda: healthz(port)[0] == 200, 30, "/healthz to be healthy again")
    healthy_again = time.monotonic() - restarted
    wait_until(
        lambda: pg_rows(pg_db, "SELECT count(*) FROM reminders WHERE status <> 'sent'") == [(0,)],
        180,
        "every reminder sent",
    )
    assert daemon.stop() == 0
    assert resumed <= RESUME_WITHIN, f"resumed {resumed:.1f} s after the database came back"

    scan = scan_maildir(maildir)
    assert not scan.partial
    assert set(scan.counts) == keys
    extra = sum(scan.counts.values()) - len(keys)
    assert extra <= BATCH, f"{extra} sent twice: more than one batch was in flight"
    print(
        f"FIGURE s6: {count} reminders, PostgreSQL stopped {OUTAGE:.0f} s after {at_stop} were "
        f"sent: daemon up throughout, /healthz 503 after {unhealthy[0]:.1f} s; sending resumed "
        f"{resumed:.1f} s and /healthz 200 {healthy_again:.1f} s after the restart; lost 0, "
        f"{extra} sent twice (in flight at the stop)"
    )
