"""DRF's ``ModelSerializer``, its fields worked out from the model once per class.

Stock DRF reads the model's fields again for every serializer it makes (their types,
choices, validators, labels through ``gettext``): about 1.1 ms of CPU for the consultation's
serializer, which every step of a doctor's workspace answers with, against 0.15 ms for
turning the consultation into JSON. The fields it works out depend only on the class (its
model and ``Meta``), so they are worked out once and each serializer gets a deep copy, as
DRF does for the fields a class declares itself. A serializer may still change its own
fields: they are its copies.

Turning the consultation into JSON still paid for the serializer it made each time: a deep
copy of its fields, then binding them (a quarter of a workspace step). ``Representation``
keeps one serializer per thread and hands it each instance, for the answers every step
sends.

Two things DRF works out in the language of the moment, which would then hold for every
language after: whether a field needs a label of its own (``needs_label``: when its model
name reads like its attribute name it takes the English attribute name), and the message of
a unique field's validator. Here each field takes its model field's name and message as
text translated when read.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from django.db import models
from django.utils.functional import lazy
from django.utils.text import capfirst
from rest_framework import serializers
from rest_framework.utils.field_mapping import get_unique_error_message
from rest_framework.validators import UniqueValidator

_BUILT = "_fields_built_from_model"


class ModelSerializer(serializers.ModelSerializer):
    """Use in place of ``rest_framework.serializers.ModelSerializer``. A subclass whose
    fields depend on the instance or the request must override ``get_fields`` itself."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get(_BUILT)
        if built is None:
            # Two threads may both build it the first time; either result is the same.
            built = super().get_fields()
            setattr(cls, _BUILT, built)
        return copy.deepcopy(built)

    def build_standard_field(
        self, field_name: str, model_field: models.Field
    ) -> tuple[type, dict[str, Any]]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        return field_class, _read_in_each_language(kwargs, model_field)

    def build_relational_field(
        self, field_name: str, relation_info: Any
    ) -> tuple[type, dict[str, Any]]:
        field_class, kwargs = super().build_relational_field(field_name, relation_info)
        return field_class, _read_in_each_language(kwargs, relation_info.model_field)


class Representation:
    """An instance as ``serializer_class(instance).data`` reads it, through one serializer
    per thread whose fields are copied and bound once. Only for a serializer whose data
    depends on the instance alone: no context, no request, no state kept between calls."""

    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        self.serializer_class = serializer_class
        self._local = threading.local()

    def __call__(self, instance: Any) -> dict[str, Any]:
        serializer = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = self._local.serializer = self.serializer_class()
        return serializer.to_representation(instance)


_unique_message = lazy(get_unique_error_message, str)


def _read_in_each_language(
    kwargs: dict[str, Any], model_field: models.Field | None
) -> dict[str, Any]:
    if model_field is None:
        return kwargs
    if getattr(model_field, "verbose_name", None):
        kwargs.setdefault("label", capfirst(model_field.verbose_name))
    if model_field.error_messages.get("unique"):
        for validator in kwargs.get("validators", []):
            if isinstance(validator, UniqueValidator):
                validator.message = _unique_message(model_field)
    return kwargs
