"""Texts to patients: in their own language where the project has it, sent after commit.

There is no app: a text that asks the patient to act names the site's address
(``site_link``), which a phone's SMS reader turns into a link. Every text is rendered inside
``translation.override(message_language(...))``, so it is in the patient's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sanjeevani.accounts.sms import SMSKind, send_sms
from sanjeevani.patients.models import Patient


def local_time(when: dt.datetime) -> str:
    """A moment as a person reads it (IST): weekday, date and time."""
    return date_format(timezone.localtime(when), "l j F Y, H:i")


def site_link() -> str:
    """The site's public address as a patient types or taps it (``PUBLIC_BASE_URL``)."""
    return (getattr(settings, "PUBLIC_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def near_turn_text(opd_name: str, token: object) -> str:
    """The near-turn text, in the active language."""
    return _(
        "Sanjeevani: your turn at %(opd)s is near (token %(token)s). Open %(link)s now and "
        "keep the page open; when the doctor calls you have 2 minutes to join."
    ) % {"opd": opd_name, "token": token, "link": site_link()}


def missed_call_text(token: object, can_rejoin: bool) -> str:
    """The missed-call text, in the active language (render it inside ``sms_after_commit``)."""
    if can_rejoin:
        return _(
            "Sanjeevani: you missed the doctor's call for token %(token)s. Open %(link)s to "
            "rejoin the queue at its head (once)."
        ) % {"token": token, "link": site_link()}
    return _("Sanjeevani: you missed the doctor's call twice; token %(token)s is closed.") % {
        "token": token
    }


def message_language(code: str | None) -> str:
    """The language to write to a person whose profile asks for ``code``: that language
    when the project has a translation catalogue for it, else English. Overriding to a
    language with no catalogue would give English sentences with dates and numbers in
    that language's script."""
    code = (code or "").split("-")[0].lower()
    if code and code != settings.LANGUAGE_CODE and code in dict(settings.LANGUAGES):
        for path in settings.LOCALE_PATHS:
            if (Path(path) / code / "LC_MESSAGES" / "django.mo").exists():
                return code
    return settings.LANGUAGE_CODE


def sms_after_commit(patient: Patient, render: Callable[[], str]) -> None:
    """Render wholly in the patient's language (or English, see ``message_language``) and
    send once the change is committed."""
    mobile = patient.account.mobile if patient.account_id else ""
    if not mobile:
        return
    with translation.override(message_language(patient.preferred_language)):
        body = render()
    transaction.on_commit(lambda: send_sms(mobile, body, kind=SMSKind.NOTIFICATION))


def sms_near_turn_after_commit(due: Iterable) -> None:
    """Once per token, an SMS when only a few are ahead, in the patient's language."""
    messages = []
    for token, mobile, language, opd_name in due:
        if not mobile:
            continue
        with translation.override(message_language(language)):
            body = near_turn_text(opd_name, token)
        messages.append((mobile, body))
    if messages:
        transaction.on_commit(
            lambda: [send_sms(to, text, kind=SMSKind.NOTIFICATION) for to, text in messages]
        )
