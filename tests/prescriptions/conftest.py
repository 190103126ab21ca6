"""Prescription fixtures: a throwaway signing key, an SMS outbox, API clients per role."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.models import Medicine
from tests.factories import PASSWORD
from tests.prescriptions.factories import ConsultationFactory, VideoConsultationFactory

API = "/api/v1/prescriptions/"


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    """Each test signs with its own key file, generated on first use as in development."""
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    signing._load_private_key.cache_clear()
    yield settings.SIGNING_KEY_FILE
    signing._load_private_key.cache_clear()


@pytest.fixture
def outbox(settings, tmp_path) -> FileOutboxBackend:
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"
    return FileOutboxBackend(settings.SMS_OUTBOX_DIR)


def medicine(name: str, form: str | None = None, strength: str | None = None) -> Medicine:
    qs = Medicine.objects.filter(generic_name=name)
    if form:
        qs = qs.filter(form=form)
    if strength:
        qs = qs.filter(strength=strength)
    return qs.order_by("form", "strength").first()


def line(name: str, **extra: Any) -> dict[str, Any]:
    """One prescription line: a catalogue pick by generic name, or free entry with
    ``free=True``."""
    free = extra.pop("free", False)
    item = {
        "dose": "1 tablet",
        "frequency": "twice a day",
        "duration": "5 days",
        "quantity": "10 tablets",
    }
    if free:
        # A complete free-entry line: the form and strength a pharmacist needs.
        item.update(generic_name=name, form="tablet", strength="500 mg")
    else:
        found = medicine(name)
        assert found is not None, f"{name} is not in the catalogue"
        item["medicine"] = str(found.pk)
    item.update(extra)
    return item


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def issue(consultation, items, **body):
    """POST a prescription as the consultation's doctor, re-confirming with their password
    (pass ``password=None`` to leave it out); returns the response."""
    body.setdefault("password", PASSWORD)
    if body["password"] is None:
        del body["password"]
    payload = {"consultation": str(consultation.pk), "items": items, **body}
    return api_for(consultation.doctor.user).post(API, payload, format="json")


@pytest.fixture
def audio_consultation():
    return ConsultationFactory()


@pytest.fixture
def video_consultation():
    return VideoConsultationFactory()
