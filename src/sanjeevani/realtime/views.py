"""The room page (standalone; the OPD and hub pages include ``realtime/_room_panel.html``)
and a device-check page for trying camera, microphone, speaker and connection."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from . import selectors


@login_required
@ensure_csrf_cookie
def room(request: HttpRequest, consultation_id) -> HttpResponse:
    consultation, member = selectors.consultation_for_member(request.user, consultation_id)
    return render(
        request, "realtime/room.html", {"consultation": consultation, "room_member": member}
    )


@login_required
def device_check(request: HttpRequest) -> HttpResponse:
    return render(request, "realtime/device_check.html")
