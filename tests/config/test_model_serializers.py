"""The project's ``ModelSerializer`` works its fields out once per class and answers as DRF's
own would: the same JSON, fields of its own per serializer, and no text frozen in the
language of the request that happened to build them first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.urls import get_resolver
from django.utils import translation
from rest_framework import serializers

from sanjeevani.config.model_serializers import ModelSerializer, Representation
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace.serializers import ConsultationSerializer
from tests.prescriptions.factories import VideoConsultationFactory

pytestmark = pytest.mark.django_db


def stock(cls: type) -> type:
    """The same serializer on DRF's own ``ModelSerializer`` (fields worked out every time)."""
    return type(
        f"Stock{cls.__name__}",
        (cls,),
        {"get_fields": serializers.ModelSerializer.get_fields, "__module__": cls.__module__},
    )


def project_model_serializers() -> list[type]:
    get_resolver().url_patterns  # noqa: B018 - imports every API module
    found, todo = [], [ModelSerializer]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if not sub.__name__.startswith("Stock"):
                found.append(sub)
                todo.append(sub)
    return found


def test_the_model_is_read_once_per_class():
    consultation = Consultation.objects.get(pk=VideoConsultationFactory().pk)
    ConsultationSerializer(consultation).data  # noqa: B018 - built here, if not before
    with mock.patch.object(
        serializers.ModelSerializer, "get_fields", side_effect=AssertionError("read again")
    ):
        assert ConsultationSerializer(consultation).data["id"] == str(consultation.pk)


def test_the_json_is_what_drf_answers():
    consultation = Consultation.objects.get(pk=VideoConsultationFactory().pk)
    ConsultationSerializer(consultation).data  # noqa: B018 - the cached fields in use below
    assert (
        ConsultationSerializer(consultation).data
        == stock(ConsultationSerializer)(consultation).data
    )


def test_each_serializer_has_fields_of_its_own():
    first, second = ConsultationSerializer(), ConsultationSerializer()
    assert first.fields["status"] is not second.fields["status"]
    first.fields["status"].read_only = False
    first.fields.pop("advice")
    assert "advice" in ConsultationSerializer().fields
    assert ConsultationSerializer().fields["status"].read_only is second.fields["status"].read_only


def described(serializer_class: type) -> dict[str, list[str]]:
    """What a person reads of each field, in the active language."""
    return {
        name: [
            str(field.label),
            str(field.help_text),
            *(str(getattr(v, "message", "")) for v in getattr(field, "validators", [])),
            *(str(label) for label in getattr(field, "choices", {}).values()),
        ]
        for name, field in serializer_class().fields.items()
    }


def test_no_label_choice_or_message_is_frozen_in_the_first_language():
    classes = project_model_serializers()
    assert ConsultationSerializer in classes and len(classes) >= 10
    for cls in classes:
        with translation.override("en"):
            cls().fields  # noqa: B018 - built first in English
        with translation.override("hi"):
            assert described(cls) == described(stock(cls)), cls.__name__


def test_a_kept_serializer_answers_what_a_new_one_does_for_each_instance():
    """``Representation``: one serializer per thread, handed each instance in turn; its
    data for each is the data of a serializer made for it, and nothing of the one before
    carries over."""
    first = Consultation.objects.get(pk=VideoConsultationFactory().pk)
    second = Consultation.objects.get(pk=VideoConsultationFactory(advice="Rest").pk)
    represent = Representation(ConsultationSerializer)
    for consultation in (first, second, first):
        assert represent(consultation) == ConsultationSerializer(consultation).data
    assert represent(first)["id"] != represent(second)["id"]
    with mock.patch.object(
        ConsultationSerializer, "get_fields", side_effect=AssertionError("fields made again")
    ):
        assert represent(second)["advice"] == "Rest"
    with ThreadPoolExecutor(1) as other_thread:
        made = other_thread.submit(lambda: represent._local.__dict__.get("serializer")).result()
    assert made is None  # each thread makes its own
