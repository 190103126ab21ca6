"""Diagnosis search under /api/v1/diagnoses/: the same ranked ICD-10 search as the doctor's page.

For the people who record diagnoses (doctors, health workers and the other staff roles);
patients are refused (403), anonymous callers too. It is reference data, not a patient's
record, so no audit row is written. Thin: parse ``q`` and ``limit``, call
``consultations.diagnoses.search``, shape the answer.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from sanjeevani.accounts.models import STAFF_ROLES
from sanjeevani.accounts.serializers import APIErrorSerializer

from . import diagnoses

app_name = "consultations-api"

#: A search costs about a millisecond; the ceiling is for scripts, far above typing speed
#: (the page asks at most four times a second while the doctor types).
SEARCH_RATE = "300/min"


class IsStaff(permissions.BasePermission):
    message = _("Diagnosis search is for doctors and health workers.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in STAFF_ROLES)


class DiagnosisSearchThrottle(SimpleRateThrottle):
    scope = "diagnosis-search"
    rate = SEARCH_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class DiagnosisQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=diagnoses.MAX_QUERY_LENGTH,
        help_text="An ICD-10 code, words of its title, or a common, lay or Hindi term "
        "(“E11”, “fever”, “high BP”, “loose motions”, “बुखार”).",
        error_messages={
            "required": _("Type at least 2 letters of the diagnosis or its ICD-10 code in q."),
            "blank": _("Type at least 2 letters of the diagnosis or its ICD-10 code in q."),
            "max_length": _("Shorten the search to at most %(n)s characters.")
            % {"n": diagnoses.MAX_QUERY_LENGTH},
        },
    )
    limit = serializers.IntegerField(
        required=False,
        default=diagnoses.DEFAULT_LIMIT,
        min_value=1,
        max_value=diagnoses.MAX_LIMIT,
        help_text=f"How many results (1–{diagnoses.MAX_LIMIT}, default {diagnoses.DEFAULT_LIMIT}).",
        error_messages={
            "invalid": _("limit must be a whole number from 1 to %(n)s.")
            % {"n": diagnoses.MAX_LIMIT},
            "min_value": _("limit must be a whole number from 1 to %(n)s.")
            % {"n": diagnoses.MAX_LIMIT},
            "max_value": _("limit must be a whole number from 1 to %(n)s.")
            % {"n": diagnoses.MAX_LIMIT},
        },
    )

    def validate_q(self, value: str) -> str:
        if len(value.strip()) < diagnoses.MIN_QUERY_LENGTH:
            raise serializers.ValidationError(
                _("Type at least 2 letters of the diagnosis or its ICD-10 code in q.")
            )
        return value.strip()


# Named apart from the record's "Diagnosis" (workspace.serializers): one schema name, one shape.
@extend_schema_serializer(component_name="DiagnosisMatch")
class DiagnosisSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="ICD-10 code (WHO edition the record accepts).")
    label = serializers.CharField(help_text="The ICD-10 title.")
    billable = serializers.BooleanField(
        help_text="True for a code with no subdivisions (the most specific level)."
    )
    match = serializers.ChoiceField(
        choices=["code", "title", "term", "spelling", "partial"],
        help_text="Why it was offered: the code, words of the title, a curated lay, "
        "abbreviation or Hindi term, a corrected spelling, or all the words but one.",
    )
    term = serializers.CharField(
        allow_blank=True,
        help_text="The curated term or corrected spelling that led here (empty for code and "
        "plain title matches).",
    )


class DiagnosisResultsSerializer(serializers.Serializer):
    results = DiagnosisSerializer(many=True)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(APIErrorSerializer, description=description)


class DiagnosisSearch(APIView):
    """ICD-10 diagnoses best matching ``q``, most relevant first.

    Ranking: the exact code and the codes under it; then ICD-10 titles holding every word
    (whole words before word beginnings; common primary-care conditions, billable codes and
    shorter titles first); then curated lay terms, abbreviations and Hindi (Devanagari and
    romanised); then, only for a word that matches nothing, the nearest spelling.
    """

    permission_classes = [IsStaff]
    throttle_classes = [DiagnosisSearchThrottle]

    @extend_schema(
        operation_id="diagnoses_search",
        parameters=[DiagnosisQuerySerializer],
        responses={
            200: DiagnosisResultsSerializer,
            400: _error(
                "q missing, shorter than 2 characters or longer than 100; or a bad "
                "limit: see error.fields."
            ),
            # 401 (not signed in, or a token not valid) is declared for every operation.
            403: _error("Signed in as a patient: diagnosis search is for staff."),
            429: _error("Too many searches: wait Retry-After seconds."),
        },
        examples=[
            OpenApiExample(
                "high BP",
                value={
                    "results": [
                        {
                            "code": "I10",
                            "label": "Essential (primary) hypertension",
                            "billable": True,
                            "match": "term",
                            "term": "high bp",
                        }
                    ]
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = DiagnosisQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = diagnoses.search(params.validated_data["q"], params.validated_data["limit"])
        return Response({"results": [d.as_dict() for d in found]})


urlpatterns = [
    path("", DiagnosisSearch.as_view(), name="diagnoses"),
]
