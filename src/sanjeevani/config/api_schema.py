"""The project's OpenAPI generator: every operation declares the errors it can really answer.

drf-spectacular documents what a view declares, which is mostly its successful answer. The
errors come from mechanisms every view shares, so they are declared here, from those same
mechanisms, for every present and future operation (an operation's own
``extend_schema(responses=...)`` entries always win):

====== ================================================ =========================================
status declared when                                    the mechanism that answers it
====== ================================================ =========================================
400    the operation reads a request body, or query     parsers, serializers, and services'
       parameters the schema constrains (required,      ``ValidationError`` (``portal.api_errors``)
       enum, pattern, bounds)
401    the first authenticator names a scheme           DRF: missing or bad credentials, with
       (``WWW-Authenticate``), e.g. token first         ``WWW-Authenticate``
403    a permission beyond ``IsAuthenticated``; a       DRF permissions, session CSRF, services'
       write a browser session may make (CSRF); no      ``PermissionDenied``
       credentials or bad ones where the first
       authenticator names no scheme (session first)
404    the path has parameters; or the body names       path converters, ``get_object_or_404``,
       another object by id                             selectors scoped to the caller
409    a state-changing method of a view that answers   ``portal.api_errors.AnswersRefusals``
       its services' refusals (``DomainError``)
415    the operation reads a request body               DRF parsers (unsupported content type)
429    a throttle counts the operation (``ScopedLimit``  DRF throttles (``Retry-After``)
       counts writes only)
====== ================================================ =========================================

Any operation may also answer 405 (method), 406 (``Accept``) or 500 in the same JSON shape;
those are described once in docs/guides/api.md rather than on every operation.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.settings import api_settings

from sanjeevani.accounts.serializers import APIErrorSerializer
from sanjeevani.limits.drf import ScopedLimit, scope_of
from sanjeevani.portal.api_errors import AnswersRefusals

#: What each declared error means to a client, in the words of the API guide.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: `error.fields` names each field with what to fix.",
    401: "Not signed in, or the token is not valid: sign in again "
    "(`WWW-Authenticate` names the scheme).",
    403: "Not allowed: this account may not do this (or, with a browser session, the CSRF "
    "token is missing or the credentials are not valid).",
    404: "No such object, or not one you may see; a malformed id answers the same.",
    409: "Well formed but not possible now: `error.code` says why (the OPD is closed, the "
    "record changed in another window, the call window has passed, ...).",
    415: "The request body's content type is not one listed for this operation.",
    429: "Too many requests: wait `Retry-After` seconds (also `error.retry_after_seconds`).",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}

#: Query-parameter keywords that mean the view checks the value (and answers 400).
_CONSTRAINTS = frozenset(
    {"enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"}
)

#: A required body field of this kind names another object by id, which the view looks up
#: scoped to the caller: an unknown or foreign id answers 404. (A related field checks the
#: id itself and answers 400.)
_REFERENCE_FIELDS = (serializers.UUIDField,)


class ProjectAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the errors each operation can answer, and request
    bodies of ``PATCH`` marked partial only where the view really reads them partially."""

    # --- errors -----------------------------------------------------------------------
    def get_operation(self, path, path_regex, path_prefix, method, registry):  # noqa: D102
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        error_ref = self.resolve_serializer(APIErrorSerializer, "response").ref
        for code in sorted(self.error_statuses(operation)):
            responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
        for code, response in responses.items():
            # An explicit error declaration without a body (a description only) gets the
            # error shape: the API answers every error with it.
            if code.isdigit() and int(code) >= 400 and not response.get("content"):
                response["content"] = {"application/json": {"schema": error_ref}}
            if code == "429":
                response.setdefault("headers", {}).update(_RETRY_AFTER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        """The error statuses this operation can answer, read from the view's mechanisms."""
        statuses: set[int] = set()
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        if has_body:
            statuses |= {400, 415}
        if any(self._validated_query(p) for p in parameters):
            statuses.add(400)
        statuses |= self._auth_statuses()
        if any(p.get("in") == "path" for p in parameters) or (has_body and self._names_objects()):
            statuses.add(404)
        if isinstance(self.view, AnswersRefusals) and self.method not in SAFE_METHODS:
            statuses.add(409)
        if self._throttled():
            statuses.add(429)
        return statuses

    def _throttled(self) -> bool:
        """A throttle counts this operation. The project's ``ScopedLimit`` counts writes
        only (and none on a view with ``limit_scope = None``); any other throttle counts
        every request."""
        for throttle in self.view.throttle_classes:
            if not (isinstance(throttle, type) and issubclass(throttle, ScopedLimit)):
                return True
            if scope_of(self.view, self.method) is not None:
                return True
        return False

    def _auth_statuses(self) -> set[int]:
        statuses: set[int] = set()
        authenticators = self.view.get_authenticators()
        challenge = bool(authenticators) and bool(authenticators[0].authenticate_header(None))
        # Bad credentials are refused before permissions run, even on an AllowAny view.
        if authenticators:
            statuses.add(401 if challenge else 403)
        permissions = self.view.get_permissions()
        if any(not isinstance(p, AllowAny) for p in permissions):
            statuses.add(401 if challenge else 403)  # not signed in
        if any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in permissions):
            statuses.add(403)  # signed in, but not allowed
        if self.method not in SAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        ):
            statuses.add(403)  # a browser session's write without its CSRF token
        return statuses

    @staticmethod
    def _validated_query(parameter: dict[str, Any]) -> bool:
        if parameter.get("in") != "query":
            return False
        if parameter.get("name") == api_settings.URL_FORMAT_OVERRIDE:
            return False  # DRF's ?format=: an unknown one answers 404, covered by the path
        schema = parameter.get("schema", {})
        return bool(parameter.get("required")) or bool(_CONSTRAINTS & set(schema))

    def _names_objects(self) -> bool:
        serializer = self.get_request_serializer()
        if isinstance(serializer, OpenApiResponse):
            serializer = serializer.response
        if isinstance(serializer, type) and issubclass(serializer, serializers.BaseSerializer):
            serializer = serializer()
        fields = getattr(serializer, "fields", None)
        if not fields:
            return False
        return any(
            isinstance(field, _REFERENCE_FIELDS) and field.required and not field.read_only
            for field in fields.values()
        )

    # --- PATCH ---------------------------------------------------------------------------
    def _get_request_for_media_type(self, serializer, direction="request"):
        """drf-spectacular marks every ``PATCH`` body partial (nothing required), as DRF's
        ``partial_update`` reads it. A plain ``patch`` method that validates the serializer
        as it is (the record autosave and its required ``base_revision``) is declared with
        the serializer's own required fields."""
        if self.method != "PATCH" or self._patch_is_partial():
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"

    def _patch_is_partial(self) -> bool:
        action = getattr(self.view, "action", None)
        if action is not None:
            return action == "partial_update"
        return hasattr(self.view, "partial_update")
