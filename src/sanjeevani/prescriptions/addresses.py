"""Absolute addresses printed in the QR code and sent by SMS."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from .models import Prescription


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """From the request when there is one; otherwise from ``PUBLIC_BASE_URL`` (SMS sent after
    commit, PDFs rendered by a script)."""
    if request is not None:
        return request.build_absolute_uri(path)
    base = getattr(settings, "PUBLIC_BASE_URL", "") or "http://127.0.0.1:8000"
    return base.rstrip("/") + path


def verification_url(prescription: Prescription, request: HttpRequest | None = None) -> str:
    path = reverse("prescriptions:verify", args=[prescription.verification_code])
    return absolute_url(path, request)


def download_url(prescription: Prescription, request: HttpRequest | None = None) -> str:
    return absolute_url(reverse("prescriptions:pdf", args=[prescription.pk]), request)
