"""6. The calendar feed: HTTP against nginx serving the same bytes, and feed building."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import (
    STAYWATCH,
    Context,
    NotifySocket,
    Row,
    Stat,
    env_for_bench,
    free_port,
    http_get,
    process,
    run_worker,
    tool,
    wait_port,
)
from bench.workload import Workload, write

TARGET_BYTES = 50_000
#: People in the feed-building workload: about 10,000 events.
BUILD_PEOPLE = 116

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    types {{ text/calendar ics; }}
    server {{
        listen 127.0.0.1:{port};
        root {www};
        etag on;
    }}
}}
"""


def wrk(url: str, seconds: float, headers: dict[str, str] | None = None) -> float:
    """Requests per second from ``wrk -t1 -c32``; raises when responses went wrong."""
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds:g}s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if not match:
        raise RuntimeError(f"wrk said:\n{done.stdout}\n{done.stderr}")
    if "Non-2xx or 3xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"wrk saw errors:\n{done.stdout}")
    return float(match.group(1))


def serve(ctx: Context) -> list[Row]:
    """A ~50 KB feed: staywatch (aiohttp, cached) against nginx serving the same file."""
    missing = [name for name in ("wrk", "nginx") if tool(name) is None]
    if missing:
        ctx.skipped.append(
            f"6. feed serving: {' and '.join(missing)} not installed (make bench installs them "
            "with apt-get when it can)"
        )
        return []
    nginx = tool("nginx")
    assert nginx is not None
    folder = ctx.folder("feed-serve")
    port = free_port()
    config = write(Workload(40, date.today(), listen=f"127.0.0.1:{port}"), folder)
    seconds = 1.0 if ctx.quick else 10.0
    notify = NotifySocket()
    env = env_for_bench()
    env["NOTIFY_SOCKET"] = notify.path
    results: dict[str, list[float]] = {"sw200": [], "sw304": [], "ng200": [], "ng304": []}
    cleanup: list[Path] = []
    try:
        with process([STAYWATCH, "run", "-c", str(config)], env=env, log=folder / "daemon.log"):
            notify.wait_for("READY=1", 120)
            url, body, etag = _pick_feed(config, port)
            # nginx workers drop root's privileges: the file must sit where any user
            # can read it (pytest's and mkdtemp's folders are private).
            www = Path(tempfile.mkdtemp(prefix="staywatch-bench-www-"))
            cleanup.append(www)
            www.chmod(0o755)
            (www / "feed.ics").write_bytes(body)
            (www / "feed.ics").chmod(0o644)
            ng_port = free_port()
            conf = folder / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=folder, www=www, port=ng_port))
            with process([nginx, "-c", str(conf), "-p", str(folder)], log=folder / "nginx.log"):
                wait_port(ng_port, 30)
                ng_url = f"http://127.0.0.1:{ng_port}/feed.ics"
                # Right after binding, nginx may still be starting its worker: look again
                # for a few seconds before calling the bytes different.
                deadline = time.monotonic() + 5
                while True:
                    status, headers, same = http_get(ng_url)
                    if status == 200 and same == body:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"nginx does not serve the same bytes: status {status}, "
                            f"{len(same)} bytes instead of {len(body)}"
                        )
                    time.sleep(0.2)
                ng_etag = headers.get("ETag", "")
                for _ in range(ctx.repeat):
                    results["sw200"].append(wrk(url, seconds))
                    results["ng200"].append(wrk(ng_url, seconds))
                    results["sw304"].append(wrk(url, seconds, {"If-None-Match": etag}))
                    results["ng304"].append(wrk(ng_url, seconds, {"If-None-Match": ng_etag}))
    finally:
        notify.close()
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
    ctx.command(f"wrk -t1 -c32 -d{seconds:g}s http://127.0.0.1:PORT/calendar/TOKEN.ics")
    ctx.command(f'wrk -t1 -c32 -d{seconds:g}s -H "If-None-Match: ETAG" URL  # 304s')
    ctx.command(f"nginx -c {folder}/nginx.conf -p {folder}  # worker_processes 1, sendfile")
    rows = []
    for code, goal in (("200", 0.25), ("304", 0.3)):
        ours = Stat(results[f"sw{code}"], "req/s")
        theirs = Stat(results[f"ng{code}"], "req/s")
        ratio = ours.median / theirs.median
        rows.append(
            Row(
                "6",
                f"Feed served, {code} answers",
                f"{len(body) / 1000:.0f} KB feed, wrk -t1 -c32 -d{seconds:g}s",
                ours,
                "nginx, 1 worker, same bytes as a static file",
                theirs,
                ratio,
                f"{ratio:.2f}x nginx",
                f"≥ {goal}x nginx",
                ratio >= goal,
            )
        )
    return rows


def _pick_feed(config: Path, port: int) -> tuple[str, bytes, str]:
    """The person's feed closest to 50 KB: (url, body, ETag)."""
    from service.tokens import feed_token

    secret = (config.parent / "var" / "secret").read_bytes().strip()
    best: tuple[int, str, bytes, str] | None = None
    for person in _people(config):
        url = f"http://127.0.0.1:{port}/calendar/{feed_token(secret, person, 0)}.ics"
        status, headers, body = http_get(url)
        if status != 200:
            continue
        distance = abs(len(body) - TARGET_BYTES)
        if best is None or distance < best[0]:
            best = (distance, url, body, headers.get("ETag", ""))
    if best is None:
        raise RuntimeError("no person's feed could be fetched")
    return best[1], best[2], best[3]


def _people(config: Path) -> list[str]:
    return re.findall(r'^id = "(p\d+)"', config.read_text(), re.MULTILINE)


def build(ctx: Context) -> list[Row]:
    """Building a ~10,000-event calendar against icalendar serializing the same calendar."""
    folder = ctx.folder("feed-build")
    people = 5 if ctx.quick else BUILD_PEOPLE
    config = write(Workload(people, date.today()), folder)
    ctx.command(f"python -m bench.workers feed-build {config} {ctx.repeat}")
    result = run_worker("feed-build", str(config), str(ctx.repeat))
    ours = Stat(result["build"], "s")
    theirs = Stat(result["icalendar"], "s")
    ratio = ours.median / theirs.median
    return [
        Row(
            "6",
            "Feed building (all people's calendar)",
            f"{result['events']:,} events, {result['bytes'] / 1e6:.1f} MB",
            ours,
            "icalendar `Calendar.to_ical()` of the same calendar",
            theirs,
            ratio,
            f"{ratio:.2f}x icalendar",
            "≤ 1.2x icalendar",
            ratio <= 1.2,
            [
                "staywatch time: occurrences to bytes (events, texts, alarms, serialization); "
                "icalendar time: serializing the already-built component tree",
                f"plus per state change: event fingerprints "
                f"{sorted(result['fingerprints'])[len(result['fingerprints']) // 2]:.2f} s, "
                f"plan {sorted(result['plan'])[len(result['plan']) // 2]:.2f} s; the daemon "
                "builds once per state change and serves the cached bytes and ETag",
                "byte-identical to icalendar's re-serialization: "
                + ("yes" if result["same_bytes"] else "no"),
            ],
        )
    ]
