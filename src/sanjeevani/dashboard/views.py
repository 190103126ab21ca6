"""The dashboards' pages, live figures and exports: thin views over ``selectors`` (cached
figures), ``panels`` (charts) and ``access`` (who sees which scope)."""

from __future__ import annotations

import csv
import datetime
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from sanjeevani.config.database_routers import reads_from_replica

from . import access, figures, panels, selectors
from . import report as monthly
from .figures import Scope
from .forms import DashboardFilters
from .selectors import FIGURES_SECONDS, LIVE_SECONDS

#: Tables anyone may export for the whole country (the public page's own numbers).
PUBLIC_TABLES = frozenset({"states", "trend"})


def _sign_in_first(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``access`` raises ``SignInFirst`` for the signed-out: send them to the staff sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except access.SignInFirst:
            return redirect_to_login(request.get_full_path())

    return wrapped


def _public_cache(request: HttpRequest, response: HttpResponse, seconds: int) -> HttpResponse:
    """Shared caches may keep the signed-out's copy for ``seconds``; a signed-in person's
    copy (their name in the header) stays private. Vary on the cookie, so that switching the
    language (a cookie) fetches the page again."""
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=0)
    else:
        patch_cache_control(response, public=True, max_age=seconds)
    patch_vary_headers(response, ["Cookie"])
    return response


@reads_from_replica
def national(request: HttpRequest) -> HttpResponse:
    """The public national dashboard: no sign-in, served from the cache."""
    scope = Scope()
    overview = selectors.overview(scope)
    context = {
        "overview": overview,
        "headline": overview.headline,
        "charts": panels.overview_charts(overview),
        "live": selectors.live(scope),
        "live_query": "",
        "export_tables": panels.export_links(sorted(PUBLIC_TABLES)),
        "export_query": "",
        # A national administrator opens any state's dashboard from here.
        "state_links": overview.ranking if access.sees_every_state(request.user) else [],
    }
    return _public_cache(
        request, render(request, "dashboard/national.html", context), FIGURES_SECONDS
    )


@reads_from_replica
@_sign_in_first
def state(request: HttpRequest, code: str) -> HttpResponse:
    """A state's dashboard: its figures and operations, for its administrators."""
    place = access.state_for(request.user, code)
    form = DashboardFilters(request.GET or None, state=place)
    scope = form.scope(Scope(state_code=place.code))
    query = _export_query(request, "", form)
    spokes_url = reverse("dashboard:state_spokes", args=[place.code])
    return _operational_page(
        request,
        form,
        scope,
        {
            "place": place,
            "title": place.name,
            "live_query": f"state={place.code}",
            "spokes_url": f"{spokes_url}?{query}" if query else spokes_url,
        },
        with_spokes=False,
    )


@reads_from_replica
@_sign_in_first
def state_spokes(request: HttpRequest, code: str) -> HttpResponse:
    """A state's spokes, for its administrators: those that asked for nothing in 30 days and
    those with the fewest consultations per head (the same filters as the state's
    dashboard)."""
    place = access.state_for(request.user, code)
    form = DashboardFilters(request.GET or None, state=place)
    scope = form.scope(Scope(state_code=place.code))
    lists = selectors.spoke_lists(scope)
    dashboard_url = reverse("dashboard:state", args=[place.code])
    query = _export_query(request, "", form)
    response = render(
        request,
        "dashboard/spokes.html",
        {
            "form": form,
            "place": place,
            "title": place.name,
            "today": timezone.localdate(),
            "lists": lists,
            "panels": panels.spoke_panels(lists),
            "dashboard_url": f"{dashboard_url}?{query}" if query else dashboard_url,
            "export_tables": panels.export_links(panels.SPOKE_TABLES),
            "export_query": _export_query(request, f"state={place.code}", form),
        },
    )
    patch_cache_control(response, private=True, max_age=0)
    return response


@reads_from_replica
@_sign_in_first
def hub(request: HttpRequest, hub_id: uuid.UUID) -> HttpResponse:
    """A hub's dashboard, for its coordinator and its state's administrators."""
    place = access.hub_for(request.user, hub_id)
    form = DashboardFilters(request.GET or None, state=place.state, hub=True)
    scope = form.scope(Scope(state_code=place.state.code, hub_id=place.pk))
    return _operational_page(
        request,
        form,
        scope,
        {"place": place, "title": place.name, "live_query": f"hub={place.pk}", "is_hub": True},
    )


def _operational_page(
    request: HttpRequest,
    form: DashboardFilters,
    scope: Scope,
    context: dict[str, Any],
    with_spokes: bool = True,
) -> HttpResponse:
    overview = selectors.overview(scope, operational=True, with_spokes=with_spokes)
    context.update(
        {
            "form": form,
            "overview": overview,
            "headline": overview.headline,
            "charts": panels.overview_charts(overview),
            "operations": panels.operations_panels(overview.operations),
            "live": selectors.live(scope),
            "export_tables": panels.export_links(panels.OPERATIONAL_TABLES),
            "export_query": _export_query(request, context["live_query"], form),
            "report_month": _previous_month(overview.today),
            "this_month": f"{overview.today:%Y-%m}",
        }
    )
    response = render(request, "dashboard/operations.html", context)
    patch_cache_control(response, private=True, max_age=0)
    return response


def _previous_month(today: datetime.date) -> str:
    return f"{today.replace(day=1) - datetime.timedelta(days=1):%Y-%m}"


def _export_query(request: HttpRequest, place_query: str, form: DashboardFilters) -> str:
    """The scope and the valid filters as a query string, so an export (or the other page
    of the same scope) is what is shown."""
    if not form.is_bound or not form.is_valid():
        return place_query
    extra = request.GET.copy()
    for name in ("state", "hub"):
        extra.pop(name, None)
    encoded = extra.urlencode()
    if not place_query:
        return encoded
    return f"{place_query}&{encoded}" if encoded else place_query


def _scope_from_query(request: HttpRequest, table: str | None = None) -> Scope:
    """The scope named by ``state=`` or ``hub=`` (and the filters), checked against the
    person asking; no scope is the whole country."""
    hub_param, state_param = request.GET.get("hub"), request.GET.get("state")
    if hub_param:
        try:
            hub_id = uuid.UUID(hub_param)
        except ValueError as error:
            raise Http404(_("There is no such hub.")) from error
        place = access.hub_for(request.user, hub_id)
        form = DashboardFilters(request.GET, state=place.state, hub=True)
        base = Scope(state_code=place.state.code, hub_id=place.pk)
    elif state_param:
        place = access.state_for(request.user, state_param)
        form = DashboardFilters(request.GET, state=place)
        base = Scope(state_code=place.code)
    else:
        if table is not None and table not in PUBLIC_TABLES:
            access.national_operations_for(request.user)
        return Scope()
    if not form.is_valid():
        raise BadFilters(form)
    return form.scope(base)


class BadFilters(Exception):
    def __init__(self, form: DashboardFilters) -> None:
        self.form = form


@reads_from_replica
def live(request: HttpRequest) -> HttpResponse:
    """Patients waiting and doctors online now, as JSON for ``live.js`` (about every 20 s)."""
    try:
        scope = _scope_from_query(request)
    except access.SignInFirst:
        return JsonResponse({"error": {"code": "not_authenticated"}}, status=403)
    except BadFilters:
        return JsonResponse({"error": {"code": "invalid"}}, status=400)
    response = JsonResponse(selectors.live(scope))
    if scope == Scope():
        return _public_cache(request, response, LIVE_SECONDS)
    patch_cache_control(response, private=True, max_age=LIVE_SECONDS)
    return response


class Echo:
    """A file-like object whose ``write`` hands the line back: csv writes one row at a time
    into the streamed response, never the whole file into memory."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


#: Rows read (from the database, in the sync thread) per chunk of an export under ASGI.
CHUNK_ROWS = 500


def _next_chunk(lines: Iterator[str]) -> str:
    return "".join(itertools.islice(lines, CHUNK_ROWS))


async def _chunks(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines in chunks, each read in Django's sync thread (the ORM is synchronous)."""
    while chunk := await sync_to_async(_next_chunk)(lines):
        yield chunk


def _streamed(request: HttpRequest, lines: Iterator[str]) -> Iterator[str] | AsyncIterator[str]:
    """Under ASGI (production) an async iterator: given a sync one, Django would read it
    whole into memory before sending a byte. Under WSGI the lines themselves."""
    return _chunks(lines) if isinstance(request, ASGIRequest) else lines


@reads_from_replica
@_sign_in_first
def export(request: HttpRequest, table: str) -> HttpResponse:
    """One named table as CSV, streamed; the same reach as the dashboard it comes from."""
    if table not in panels.ALL_TABLES:
        raise Http404(_("There is no such table."))
    try:
        scope = _scope_from_query(request, table)
    except BadFilters as bad:
        messages = "; ".join(str(e) for errors in bad.form.errors.values() for e in errors)
        return HttpResponseBadRequest(messages, content_type="text/plain; charset=utf-8")
    try:
        header, rows = figures.table_rows(table, scope)
    except (KeyError, LookupError) as error:
        raise Http404(_("There is no such table.")) from error
    response = StreamingHttpResponse(
        _streamed(request, _csv_lines(list(header), rows)), content_type="text/csv; charset=utf-8"
    )
    place = scope.state_code or "india"
    response["Content-Disposition"] = f'attachment; filename="sanjeevani-{place}-{table}.csv"'
    if scope == Scope() and table in PUBLIC_TABLES:
        return _public_cache(request, response, FIGURES_SECONDS)
    patch_cache_control(response, private=True, max_age=0)
    return response


@reads_from_replica
@_sign_in_first
def monthly_report(request: HttpRequest, code: str) -> HttpResponse:
    """A state's monthly report as PDF (``?month=YYYY-MM&lang=hi``), for its administrators."""
    place = access.state_for(request.user, code)
    try:
        first, last = monthly.month_bounds(request.GET.get("month"))
    except monthly.BadMonth:
        return HttpResponseBadRequest(
            _("Choose a month as YYYY-MM, from January 2000 to this month."),
            content_type="text/plain; charset=utf-8",
        )
    language = monthly.report_language(request.GET.get("lang"))
    pdf = monthly.render_report_pdf(place, first, last, language)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = monthly.report_file_name(place, first, language)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    patch_cache_control(response, private=True, max_age=0)
    return response
