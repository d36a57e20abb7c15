"""The HTTP server: calendar feeds, office dashboards, acknowledge pages, health, metrics.

Runs in the daemon's own event loop. No SQL here: everything goes through the
``WebState`` the daemon provides. Wrong tokens and links all get the same small
404 body so that nothing can be learnt from the answer.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from multidict import CIMultiDict
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.clock import Clock
from service.config import Config
from service.errors import StaywatchError
from service.i18n import jinja_environment, use_locale
from service.links import google_calendar_url, outlook_calendar_url, webcal_url
from service.metrics import FEED_REQUESTS, REGISTRY, REMINDERS
from service.offices import STATUS_ORDER, OfficeRow, office_zone
from service.plan import Occurrence
from service.publish import FeedDocument, calendar_url
from service.spreadsheet import spreadsheet_cell
from service.status import is_healthy, public_health
from service.store import Store
from service.texts import (
    action_label,
    covered_month,
    days_left_phrase,
    kind_name,
    long_date,
    status_label,
    ui,
)
from service.tokens import ExpiredLink, InvalidLink, verify_action

NOT_FOUND = b"Not found\n"
#: The busiest counters, looked up once (``labels()`` takes a lock per call).
_FEED_200 = FEED_REQUESTS.labels("200")
_FEED_304 = FEED_REQUESTS.labels("304")
CALENDAR_TYPE = "text/calendar; charset=utf-8"
#: Sent with every answer (by the middleware; calendars carry them in their cached headers).
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))


class WebState(Protocol):
    """What the daemon lends the web server."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def secret(self) -> bytes: ...

    async def lookup_token(self, token: str) -> tuple[str, str | None] | None:
        """('person', id) or ('admin', None) for a live token, else None."""
        ...

    async def feed(self, person: str | None) -> CachedFeed:
        """The cached calendar of a person (None: everyone)."""
        ...

    def cached_feed_for(self, token: str) -> CachedFeed | None:
        """The already cached calendar of a live person or admin token, without awaiting.

        None sends the request down the full path (:meth:`lookup_token`, :meth:`feed`):
        an unknown token, an office token, a feed not built yet, or a token recheck due.
        """
        ...

    async def office_document(self, office_id: str) -> CachedFeed | None:
        """The cached combined calendar of an office's people (None: no such office)."""
        ...

    async def office_rows(self, office_id: str) -> list[OfficeRow] | None:
        """The dashboard rows of an office (None: no such office)."""
        ...

    async def occurrence(self, key: str) -> Occurrence | None:
        """The planned occurrence ``PERSON/DEADLINE/YYYY-MM-DD``, if it still exists."""
        ...

    async def acknowledge(self, occurrence: Occurrence, by: str, who: str | None = None) -> int:
        """Record an acknowledgement (``who``: the recipient's address); returns those stopped."""
        ...

    async def snapshot(self) -> dict[str, Any]:
        """The health object (``status --json`` plus ``db``)."""
        ...


@dataclass(frozen=True, slots=True)
class CachedFeed:
    """A calendar ready to serve: plain and gzip bytes with their validators."""

    body: bytes
    gzipped: bytes
    etag: str
    etag_gzip: str
    last_modified: datetime
    #: ``last_modified`` as an HTTP date, formatted once rather than per request.
    http_date: str = ""
    #: Both validators, and the whole header sets of the four answers (200/304, plain/gzip),
    #: built once when the feed is cached rather than per request.
    etags: frozenset[str] = field(init=False, repr=False, compare=False)
    headers_200: CIMultiDict[str] = field(init=False, repr=False, compare=False)
    headers_200_gzip: CIMultiDict[str] = field(init=False, repr=False, compare=False)
    headers_304: CIMultiDict[str] = field(init=False, repr=False, compare=False)
    headers_304_gzip: CIMultiDict[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        http_date = self.http_date or format_datetime(
            self.last_modified.astimezone(UTC), usegmt=True
        )

        def headers(etag: str, *extra: tuple[str, str]) -> CIMultiDict[str]:
            return CIMultiDict(
                [
                    ("ETag", etag),
                    ("Last-Modified", http_date),
                    ("Cache-Control", "private, max-age=300"),
                    ("Vary", "Accept-Encoding"),
                    *extra,
                    *SECURITY_HEADERS,
                ]
            )

        content_type = ("Content-Type", CALENDAR_TYPE)
        set_ = object.__setattr__  # frozen: the derived fields are filled in once, here
        set_(self, "http_date", http_date)
        set_(self, "etags", frozenset((self.etag, self.etag_gzip)))
        set_(self, "headers_200", headers(self.etag, content_type))
        set_(
            self,
            "headers_200_gzip",
            headers(self.etag_gzip, ("Content-Encoding", "gzip"), content_type),
        )
        set_(self, "headers_304", headers(self.etag))
        set_(self, "headers_304_gzip", headers(self.etag_gzip))

    @classmethod
    def of(cls, document: FeedDocument) -> CachedFeed:
        """Precompute the gzip variant and the header values once, not per request."""
        tag = document.etag.strip('"')
        return cls(
            document.body,
            gzip.compress(document.body, compresslevel=6, mtime=0),
            document.etag,
            f'"{tag}-gz"',
            document.last_modified,
            format_datetime(document.last_modified.astimezone(UTC), usegmt=True),
        )


STATE = web.AppKey("state", WebState)
PAGES = web.AppKey("pages", Environment)
#: The page every cut-off or altered /act/ link gets, rendered once: the same bytes
#: and the same time for each, so that no answer says anything about the link.
INVALID_LINK_PAGE = web.AppKey("invalid_link_page", bytes)


def page_environment() -> Environment:
    """The templates of the web pages, with ``_()`` reading the language of each rendering."""
    return jinja_environment(
        PackageLoader("service", "templates/web"), autoescape=select_autoescape(["html"])
    )


def make_app(state: WebState) -> web.Application:
    """The aiohttp application with every route of the contract."""
    app = web.Application(middlewares=[_security_headers])
    app[STATE] = state
    app[PAGES] = page_environment()
    app[INVALID_LINK_PAGE] = _notice_html(app[PAGES], "link_invalid", UNKNOWN_READER).encode()
    # The .ics route first: the page's {token} would match "TOKEN.ics" too.
    app.router.add_get("/calendar/{token}.ics", calendar)
    app.router.add_get("/calendar/{token}", subscribe_page)
    app.router.add_get("/office/{name}", office_page)
    app.router.add_get("/act/{signed}", act_page)
    app.router.add_post("/act/{signed}", act_post)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        # A path no route matches (an empty or cut-off token) looks like a wrong token,
        # and a mangled /act/ link like any other bad link.
        response = _invalid_link(request) if request.path.startswith("/act/") else _not_found()
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    return response


def _not_found() -> web.Response:
    return web.Response(status=404, body=NOT_FOUND, content_type="text/plain")


def _invalid_link(request: web.Request) -> web.Response:
    """The one answer to every cut-off or altered /act/ link: 404 and a page saying so."""
    return web.Response(
        status=404,
        body=request.app[INVALID_LINK_PAGE],
        content_type="text/html",
        charset="utf-8",
        headers=_PRIVATE,
    )


async def calendar(request: web.Request) -> web.StreamResponse:
    """GET/HEAD /calendar/{token}.ics with ETag, Last-Modified, 304 and gzip."""
    state = request.app[STATE]
    token = request.match_info["token"]
    cached = state.cached_feed_for(token)
    if cached is not None:
        return _serve_calendar(request, cached)
    found = await state.lookup_token(token)
    if found is None:
        FEED_REQUESTS.labels("404").inc()
        return _not_found()
    kind, ident = found
    if kind == "office":
        office_feed = await state.office_document(ident or "")
        if office_feed is None:
            FEED_REQUESTS.labels("404").inc()
            return _not_found()
        return _serve_calendar(request, office_feed)
    return _serve_calendar(request, await state.feed(ident if kind == "person" else None))


def _serve_calendar(request: web.Request, cached: CachedFeed) -> web.Response:
    """A cached calendar with its validators: 304 when the client has it, gzip when asked."""
    wants_gzip = accepts_gzip(request.headers.get("Accept-Encoding"))
    if _not_modified(request, cached.etags, cached.last_modified):
        _FEED_304.inc()
        return web.Response(
            status=304, headers=cached.headers_304_gzip if wants_gzip else cached.headers_304
        )
    _FEED_200.inc()
    if wants_gzip:
        return web.Response(body=cached.gzipped, headers=cached.headers_200_gzip)
    return web.Response(body=cached.body, headers=cached.headers_200)


#: One entity-tag of an If-None-Match list: an optional weak prefix and a quoted tag.
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')


def if_none_match(header: str, etags: Collection[str]) -> bool:
    """Whether an ``If-None-Match`` value matches one of ``etags`` (RFC 9110, 13.1.2).

    ``*`` matches any current representation. Otherwise the value is a list of
    entity-tags, compared weakly: ``W/"x"`` matches ``"x"`` (a proxy that
    compresses on the fly weakens the validators it passes on).
    """
    if header in etags:
        return True  # what a client sends back nearly always: our own tag, as it was
    if header.strip() == "*":
        return True
    ours = {tag.removeprefix("W/") for tag in etags}
    return any(match.group(1) in ours for match in _ENTITY_TAG.finditer(header))


@lru_cache(maxsize=512)
def accepts_gzip(header: str | None) -> bool:
    """Whether to answer ``Accept-Encoding: header`` with gzip (RFC 9110, 12.5.3).

    Each coding may carry a weight (``gzip;q=0`` refuses gzip); ``*`` stands
    for every coding not listed, identity included. gzip is chosen when it is
    acceptable and weighs at least as much as identity. No header at all gets
    identity: clients that send none rarely decode gzip. When nothing
    acceptable is left (``identity;q=0`` alone), identity is sent rather than
    a 406, which no calendar client would know what to do with. Clients send
    the same few values over and over: the answers are cached.
    """
    if not header:
        return False
    weights: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.partition(";")
        name = coding.strip().lower()
        if not name:
            continue
        weights[name] = _qvalue(params)
    star = weights.get("*")
    gzip_q = weights.get("gzip", weights.get("x-gzip", star if star is not None else 0.0))
    identity_q = weights.get("identity", star if star is not None else 1.0)
    return gzip_q > 0 and gzip_q >= identity_q


def _qvalue(params: str) -> float:
    """The ``q`` weight in a coding's parameters: 1 when absent, 0 when unreadable."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 0.0
            return weight if 0.0 <= weight <= 1.0 else 0.0
    return 1.0


def _not_modified(request: web.Request, etags: frozenset[str], last_modified: datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        # If-Modified-Since is ignored when If-None-Match is present (RFC 9110, 13.1.3).
        return if_none_match(match, etags)
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= when
    return False


async def subscribe_page(request: web.Request) -> web.Response:
    """GET /calendar/{token}: how to subscribe to that calendar, in its reader's language.

    One tap on a phone (webcal, Google, Outlook), the address to copy, and a QR
    code of the webcal address for a desktop screen. The tokens are the feed's,
    and so is the one 404 for anything else.
    """
    state = request.app[STATE]
    token = request.match_info["token"]
    found = await state.lookup_token(token)
    reader = _calendar_reader(state.config, found) if found is not None else None
    if reader is None:
        return _not_found()
    lang, name = reader
    https = calendar_url(state.config, token)
    webcal = webcal_url(https)
    import segno  # only the subscribe page draws a QR code

    qr = segno.make(webcal, error="m").svg_inline(
        border=4, omitsize=True, light="#fff", svgclass="qr-code", lineclass=None
    )
    with use_locale(lang):
        html = (
            request.app[PAGES]
            .get_template("subscribe.html")
            .render(
                lang=lang,
                name=name,
                https=https,
                webcal=webcal,
                google=google_calendar_url(https),
                outlook=outlook_calendar_url(https, name),
                qr=Markup(qr),  # segno's own SVG: no text of ours in it
            )
        )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )


def _calendar_reader(config: Config, found: tuple[str, str | None]) -> tuple[str, str] | None:
    """(language, calendar name) of a token's calendar; None when it names nobody now.

    A person reads their own language; an office, the office's; the admin
    calendar is English, like the CLI.
    """
    # Here, not at the top: the feed module loads icalendar, which the daemon
    # needs only once a calendar is asked for.
    from service.feed import calendar_name

    kind, ident = found
    if kind == "admin":
        return "en", calendar_name(None, "en")
    if kind == "office":
        office = config.office(ident or "")
        return (office.language, f"staywatch: {office.name}") if office else None
    person = config.person(ident or "")
    return (person.language, calendar_name(person, person.language)) if person else None


#: The languages of a page about a link whose person is not known: English, and
#: Korean, which every foreign resident meets on forms and counters.
UNKNOWN_READER = ("en", "ko")


async def _verified(request: web.Request) -> tuple[Occurrence | None, web.Response | None]:
    occurrence, _, error = await _verified_by(request)
    return occurrence, error


async def _verified_by(
    request: web.Request,
) -> tuple[Occurrence | None, str | None, web.Response | None]:
    """The link's occurrence and the recipient it was sent to (None: the person), or a page."""
    state = request.app[STATE]
    try:
        claim = verify_action(state.secret, request.match_info["signed"], state.clock.now())
    except ExpiredLink as expired:
        reader = _reader(request, expired.claim.occurrence)
        return None, None, _notice(request, "link_expired", reader, status=410)
    except InvalidLink:
        # Cut short or tampered with: nothing in it can be trusted, not even whose it is.
        return None, None, _invalid_link(request)
    occurrence = await state.occurrence(claim.occurrence)
    if occurrence is None or claim.action != "ack":
        reader = _reader(request, claim.occurrence)
        return None, None, _notice(request, "link_gone", reader, status=410)
    return occurrence, claim.by, None


def _reader(request: web.Request, occurrence_key: str) -> tuple[str, ...]:
    """The languages of a page for the person a genuine link belongs to."""
    person = request.app[STATE].config.person(occurrence_key.partition("/")[0])
    return (person.language,) if person is not None else UNKNOWN_READER


def _language(request: web.Request, occurrence: Occurrence | None) -> str:
    state = request.app[STATE]
    if occurrence is not None:
        person = state.config.person(occurrence.person)
        if person is not None:
            return person.language
    return "en"


_PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _notice_html(env: Environment, message: str, languages: tuple[str, ...]) -> str:
    """A page that says one thing (``ui(message)``), once in each of ``languages``."""
    blocks = []
    for lang in dict.fromkeys(languages):
        with use_locale(lang) as chosen:
            blocks.append({"lang": chosen, "text": ui(message, chosen)})
    # The page's own language is the first reader's.
    return env.get_template("notice.html").render(lang=blocks[0]["lang"], blocks=blocks)


def _notice(
    request: web.Request, message: str, languages: tuple[str, ...], *, status: int
) -> web.Response:
    """A page that says one thing, for the readers of ``languages``."""
    html = _notice_html(request.app[PAGES], message, languages)
    return web.Response(status=status, text=html, content_type="text/html", headers=_PRIVATE)


def _page(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    occurrence: Occurrence | None = None,
    **extra: Any,
) -> web.Response:
    env = request.app[PAGES]
    with use_locale(_language(request, occurrence)) as lang:
        context: dict[str, Any] = {"lang": lang, **extra}
        if occurrence is not None:
            state = request.app[STATE]
            person = state.config.person(occurrence.person)
            context.update(
                occurrence=occurrence,
                label=action_label(
                    occurrence.texts_key,
                    lang,
                    occurrence.date,
                    occurrence.covers,
                    title=occurrence.title,
                ),
                what=occurrence.title or kind_name(occurrence.texts_key, lang),
                name=person.name if person else occurrence.person,
                day=long_date(occurrence.date, lang),
            )
        html = env.get_template(template).render(**context)
    return web.Response(status=status, text=html, content_type="text/html", headers=_PRIVATE)


async def act_page(request: web.Request) -> web.Response:
    """GET /act/{signed}: a confirmation page; never changes anything."""
    occurrence, error = await _verified(request)
    if error is not None or occurrence is None:
        return error or _not_found()
    acked = occurrence.key in await request.app[STATE].store.acknowledged(occurrence.person)
    return _page(request, "act.html", occurrence=occurrence, done=acked)


async def act_post(request: web.Request) -> web.Response:
    """POST /act/{signed}: record the acknowledgement and say so."""
    occurrence, who, error = await _verified_by(request)
    if error is not None or occurrence is None:
        return error or _not_found()
    # A recipient's copy records that recipient (the office) as the one who acknowledged.
    if who is None:
        stopped = await request.app[STATE].acknowledge(occurrence, "link")
    else:
        stopped = await request.app[STATE].acknowledge(occurrence, "recipient", who)
    return _page(request, "acted.html", occurrence=occurrence, stopped=stopped)


#: Columns of the dashboard's CSV export (``OfficeRow.as_dict``).
OFFICE_CSV_COLUMNS = (
    "person",
    "name",
    "tags",
    "deadline",
    "kind",
    "what",
    "date",
    "days_left",
    "status",
    "covers",
    "acknowledged_by",
)


async def office_page(request: web.Request) -> web.StreamResponse:
    """GET /office/{token}[.csv|.ics]: an office's dashboard, its CSV export or calendar.

    Filters ``?kind=&status=&tag=`` apply to the page and the CSV alike. A token
    that is not a live office token gets the same 404 as a wrong calendar token.
    """
    state = request.app[STATE]
    token, dot, suffix = request.match_info["name"].partition(".")
    if dot and suffix not in ("csv", "ics"):
        return _not_found()
    found = await state.lookup_token(token)
    office = state.config.office(found[1] or "") if found and found[0] == "office" else None
    if office is None:
        FEED_REQUESTS.labels("404").inc()
        return _not_found()
    if suffix == "ics":
        cached = await state.office_document(office.id)
        if cached is None:
            return _not_found()
        return _serve_calendar(request, cached)
    rows = await state.office_rows(office.id)
    if rows is None:
        return _not_found()
    kind = request.query.get("kind", "")
    status = request.query.get("status", "")
    tag = request.query.get("tag", "")
    faceted = [r for r in rows if (not kind or r.kind == kind) and (not tag or tag in r.tags)]
    shown = [r for r in faceted if not status or r.status == status]
    today = state.clock.now().astimezone(office_zone(state.config, office)).date()
    private = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    if suffix == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=OFFICE_CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in r.as_dict().items()} for r in shown)
        filename = f"staywatch-{office.id}-{today.isoformat()}.csv"
        return web.Response(
            # The BOM lets spreadsheet programs read Korean and Chinese names as UTF-8.
            body=("\ufeff" + out.getvalue()).encode("utf-8"),
            headers={
                **private,
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for row in faceted:
        counts[row.status] = counts.get(row.status, 0) + 1
    kinds = sorted({r.kind for r in rows})
    tags = sorted({t for r in rows for t in r.tags})
    query = {k: v for k, v in (("kind", kind), ("status", status), ("tag", tag)) if v}
    with use_locale(office.language) as lang:
        html = (
            request.app[PAGES]
            .get_template("office.html")
            .render(
                lang=lang,
                office=office,
                today=today,
                rows=shown,
                total=len(rows),
                counts=counts,
                statuses=list(STATUS_ORDER),
                kinds=[(k, kind_name(k, lang)) for k in kinds],
                tags=tags,
                kind=kind,
                status=status,
                tag=tag,
                token=token,
                query=query,
                days_left=lambda days: days_left_phrase(days, lang),
                status_label=lambda name: status_label(name, lang),
                covered=lambda what, covers: covered_month(what, covers, lang),
                strong=lambda value: Markup("<strong>%s</strong>") % value,
            )
        )
    return web.Response(text=html, content_type="text/html", headers=private)


def _csv_cell(value: str | int) -> str | int:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    return spreadsheet_cell(value) if isinstance(value, str) else value


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: counts, booleans and instants; 503 when unhealthy.

    With ``?token=`` the admin feed token (``staywatch feed-url --all``), the whole
    ``status --json`` object: failures with the server's replies, config errors.
    """
    state = request.app[STATE]
    snapshot = await state.snapshot()
    status = 200 if is_healthy(snapshot) else 503
    token = request.query.get("token", "")
    found = None
    if token:
        try:
            found = await state.lookup_token(token)
        except StaywatchError:
            found = None  # the database is down: the answer says so (db: false, 503)
    body = snapshot if found is not None and found[0] == "admin" else public_health(snapshot)
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text."""
    state = request.app[STATE]
    try:
        for status, count in (await state.store.counts()).items():
            REMINDERS.labels(status).set(count)
    except Exception:
        pass
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
