"""Who may open the OPD's patient pages, and how those pages find and speak to the family."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.consultations.workspace.pages import sign_in_url
from sanjeevani.portal.access import NotYourPage
from sanjeevani.portal.landing import LANDINGS
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket


def patient_required(view):
    """Patients' pages: anonymous people go to OTP sign-in and come back here; staff get
    the styled 403 naming whose page this is, with a link to their own (not a 404, which
    shows Django's debug page when DEBUG is on)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(sign_in_url("accounts:otp_sign_in", request.get_full_path()))
        if request.user.role != Role.PATIENT:
            raise NotYourPage(
                str(LANDINGS[Role.PATIENT].audience),
                _("These pages are for patients signed in with a mobile number."),
            )
        return view(request, *args, **kwargs)

    return wrapped


def use_patient_language(request: HttpRequest, patient) -> None:
    """Speak the profile's language unless the person picked one themselves (the cookie).
    A language the project has no translation for falls back to English as a whole, so a
    page never mixes English text with dates in another script."""
    if patient is None or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    wanted = queue.message_language(patient.preferred_language)
    translation.activate(wanted)
    request.LANGUAGE_CODE = wanted


def account_holder(patients: list):
    """The profile that speaks for the family on pages about all of it: the account
    holder's own, else the first added."""
    own = [p for p in patients if p.relation == p.Relation.SELF]
    return (own or patients or [None])[0]


def family_ticket(request: HttpRequest, ticket_id, audited: bool = False) -> Ticket:
    """A token of the signed-in family; anyone else's is 404. ``audited`` for the pages
    that show it (not for the status polls nor the steps that act on it)."""
    try:
        if audited:
            return queue_selectors.ticket_viewed_by_family(request.user, ticket_id, request)
        return queue_selectors.ticket_for_family(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404(_("No such token.")) from None


def bad_id() -> str:
    """A missing or malformed id in the query string: nothing to find."""
    raise Http404
