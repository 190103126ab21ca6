"""Pluggable SMS delivery. The gateway is outside our reach in tests and on a laptop, so
the default backends write to the console or to an outbox folder that tests read.

Choose with ``SMS_BACKEND``: ``console``, ``file`` (``SMS_OUTBOX_DIR``), ``http``
(POSTs JSON ``{"to", "body", "sender"}`` to ``SMS_GATEWAY_URL`` with a bearer token), or a
dotted path to a class with ``send(message: SMSMessage)``.

Every caller says which kind of message it sends (``SMSKind``). Notifications (token,
near turn, missed call, prescription ready) stop at ``SMS_DAILY_CEILING_PER_NUMBER`` a day
per number: the gateway's quota is shared with the sign-in codes, and actions that send
them could otherwise be repeated to run up the bill or flood one phone. The action itself
goes ahead; the SMS is logged and audited as suppressed. Sign-in codes are never held back
by that ceiling: they have their own limits per number and address (``accounts.otp``).
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

from sanjeevani.audit.services import record_event
from sanjeevani.limits.rates import count_in_window

log = logging.getLogger(__name__)


class SMSKind(StrEnum):
    #: A sign-in code: never held back by the daily ceiling; a failure is raised.
    OTP = "otp"
    #: Everything else: counted against the daily ceiling; a failure is logged.
    NOTIFICATION = "notification"


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str
    sent_at: str


class ConsoleBackend:
    def send(self, message: SMSMessage) -> None:
        print(f"[SMS to {message.to}] {message.body}", file=sys.stderr, flush=True)


class FileOutboxBackend:
    """One JSON file per message in the outbox folder, named so they sort by time."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_OUTBOX_DIR)

    def send(self, message: SMSMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
        (self.directory / name).write_text(json.dumps(asdict(message), ensure_ascii=False))

    def messages(self, to: str | None = None) -> list[SMSMessage]:
        if not self.directory.exists():
            return []
        found = [
            SMSMessage(**json.loads(p.read_text())) for p in sorted(self.directory.glob("*.json"))
        ]
        return [m for m in found if to is None or m.to == to]


class HTTPGatewayBackend:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = url or settings.SMS_GATEWAY_URL
        self.token = token or settings.SMS_GATEWAY_TOKEN
        if not self.url:
            raise ValueError("SMS_BACKEND=http needs SMS_GATEWAY_URL")

    def send(self, message: SMSMessage) -> None:
        payload = json.dumps(
            {"to": message.to, "body": message.body, "sender": settings.SMS_SENDER_ID}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's gateway
            self.url,
            data=payload,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status >= 300:
                raise RuntimeError(f"SMS gateway answered {response.status}")


_BACKENDS = {"console": ConsoleBackend, "file": FileOutboxBackend, "http": HTTPGatewayBackend}


def get_backend():
    name = settings.SMS_BACKEND
    cls = _BACKENDS.get(name) or import_string(name)
    return cls()


def _daily_key(to: str) -> str:
    return f"sms:notifications:{to}:{timezone.localdate():%Y%m%d}"


def notifications_sent_today(to: str) -> int:
    """How many notifications were asked for to ``to`` today (sent or suppressed)."""
    return int(cache.get(_daily_key(to)) or 0)


def _within_daily_ceiling(to: str) -> tuple[bool, int]:
    """Count one notification to ``to`` for today (the local day); False once the count
    passes the ceiling. The count lives in the cache (Redis in production, one atomic
    INCR); a cache failure lets the SMS go, as a courtesy copy should."""
    ceiling = int(getattr(settings, "SMS_DAILY_CEILING_PER_NUMBER", 0) or 0)
    if ceiling <= 0:
        return True, 0
    try:
        count = count_in_window(_daily_key(to), 2 * 24 * 3600)
    except Exception:
        log.exception("SMS ceiling for %s could not be counted; sending", to)
        return True, 0
    return count <= ceiling, count


def send_sms(to: str, body: str, *, kind: SMSKind = SMSKind.NOTIFICATION) -> bool:
    """Send one SMS; True if the gateway took it.

    A notification is a courtesy copy (the same information is always on the patient's
    screen): past the daily ceiling for its number it is suppressed, and a gateway failure
    is logged, never raised. A sign-in code (``SMSKind.OTP``) skips the ceiling and a
    failure is raised, so the sign-in can tell the patient to try again.
    """
    kind = SMSKind(kind)
    if kind is SMSKind.NOTIFICATION:
        allowed, count = _within_daily_ceiling(to)
        if not allowed:
            log.warning(
                "SMS to %s suppressed: %d notifications today passes the ceiling", to, count
            )
            try:
                record_event(
                    None,
                    "sms.suppressed",
                    detail={
                        "mobile": to,
                        "kind": kind.value,
                        "count_today": count,
                        "ceiling": settings.SMS_DAILY_CEILING_PER_NUMBER,
                    },
                )
            except Exception:
                log.exception("Suppressed SMS to %s could not be audited", to)
            return False
    message = SMSMessage(to=to, body=body, sent_at=timezone.now().isoformat())
    if kind is SMSKind.OTP:
        get_backend().send(message)
        return True
    try:
        get_backend().send(message)
    except Exception:
        log.exception("SMS to %s could not be sent", to)
        return False
    return True
