"""Pluggable SMS delivery. The gateway is outside our reach in tests and on a laptop, so
the default backends write to the console or to an outbox folder that tests read.

Choose with ``SMS_BACKEND``: ``console``, ``file`` (``SMS_OUTBOX_DIR``), ``http``
(POSTs JSON ``{"to", "body", "sender"}`` to ``SMS_GATEWAY_URL`` with a bearer token), or a
dotted path to a class with ``send(message: SMSMessage)``.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


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


def send_sms(to: str, body: str) -> None:
    """Send one SMS. A gateway failure is logged, never raised: an SMS is a courtesy copy,
    and the same information is always on the patient's screen."""
    message = SMSMessage(to=to, body=body, sent_at=timezone.now().isoformat())
    try:
        get_backend().send(message)
    except Exception:
        log.exception("SMS to %s could not be sent", to)
