"""Public reference data for the apps: states, their districts, specialties.

Open without sign-in (it is the same for everyone) and cacheable by clients for an hour.
"""

from __future__ import annotations

from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from rest_framework import generics
from rest_framework.permissions import AllowAny

from sanjeevani.config.model_serializers import ModelSerializer

from . import selectors
from .models import District, Specialty, State

app_name = "registry-api"

_public = method_decorator(cache_control(public=True, max_age=3600), name="dispatch")


class StateSerializer(ModelSerializer):
    class Meta:
        model = State
        fields = ("code", "name", "kind")


class DistrictSerializer(ModelSerializer):
    class Meta:
        model = District
        fields = ("id", "name")


class SpecialtySerializer(ModelSerializer):
    class Meta:
        model = Specialty
        fields = ("code", "name")


class PublicReferenceList(generics.ListAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    pagination_class = None


@_public
class StateList(PublicReferenceList):
    """All 28 states and 8 union territories with their two-letter codes."""

    serializer_class = StateSerializer

    def get_queryset(self):
        return selectors.all_states()


@_public
class DistrictList(PublicReferenceList):
    """The districts of one state or union territory, by its code (404 for an unknown code)."""

    serializer_class = DistrictSerializer

    def get_queryset(self):
        return selectors.districts_of(selectors.state_by_code(self.kwargs["code"]))


@_public
class SpecialtyList(PublicReferenceList):
    """Specialties; ``code`` is what OPDs, links and the import file refer to."""

    serializer_class = SpecialtySerializer

    def get_queryset(self):
        return selectors.all_specialties()


urlpatterns = [
    path("states/", StateList.as_view(), name="states"),
    path("states/<str:code>/districts/", DistrictList.as_view(), name="districts"),
    path("specialties/", SpecialtyList.as_view(), name="specialties"),
]
