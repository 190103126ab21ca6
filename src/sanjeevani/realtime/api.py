"""Room API under /api/v1/realtime/: join tokens, chat history, files, participants and a
small download the device check times. Thin: each view calls one service or selector."""

from __future__ import annotations

import os

from django.http import FileResponse, HttpResponse
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.audit.services import client_ip
from sanjeevani.patients.uploads import ALLOWED_TYPES

from . import selectors, services
from .models import ADDABLE_ROLES

app_name = "realtime-api"

PROBE_MAX_BYTES = 256 * 1024


class JoinTokenView(APIView):
    """A single-use token to open the room's WebSocket within a few minutes, and the
    ICE servers (with time-limited TURN credentials) for this participant."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "RoomJoinToken",
                {
                    "token": serializers.CharField(),
                    "expires_in": serializers.IntegerField(),
                    "websocket_path": serializers.CharField(),
                    "ice_servers": serializers.ListField(child=serializers.DictField()),
                    "role": serializers.CharField(),
                    "user_id": serializers.UUIDField(),
                    "status": serializers.CharField(),
                },
            ),
            400: OpenApiResponse(description="The consultation has ended (`ended`)."),
        }
    )
    def get(self, request: Request, consultation_id) -> Response:
        response = Response(services.issue_join_token(request.user, consultation_id))
        response["Cache-Control"] = "no-store"
        return response


class MessagesView(APIView):
    """The room's chat and shared files in order, after a given sequence number."""

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="last seq the client has")],
        responses=inline_serializer(
            "RoomMessages", {"messages": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def get(self, request: Request, consultation_id) -> Response:
        consultation, _member = selectors.consultation_read_by_member(
            request.user, consultation_id, "chat.view", request
        )
        try:
            after = max(int(request.query_params.get("after", "0")), 0)
        except ValueError:
            after = 0
        members = selectors.room_members(consultation)
        messages = selectors.messages_after(consultation, after)
        return Response({"messages": [selectors.message_payload(m, members) for m in messages]})


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class FilesView(APIView):
    """Share a PDF, JPEG or PNG in the room (checked from its content, size-limited)."""

    parser_classes = [MultiPartParser]
    limit_scope = "room.file"  # files shared in the room (sanjeevani.limits)

    @extend_schema(
        request=FileUploadSerializer,
        responses={201: inline_serializer("RoomFile", {"message": serializers.DictField()})},
    )
    def post(self, request: Request, consultation_id) -> Response:
        form = FileUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        message = services.share_file(request.user, consultation_id, form.validated_data["file"])
        return Response({"message": selectors.message_payload(message)}, status=201)


class FileDownloadView(APIView):
    """A shared file, to the room's participants only (audited)."""

    # The file answers with its own checked type, one of the allowed upload types.
    @extend_schema(responses={(200, kind): bytes for kind in ALLOWED_TYPES})
    def get(self, request: Request, consultation_id, message_id) -> FileResponse:
        message = services.download_file(
            request.user, consultation_id, message_id, ip=client_ip(request)
        )
        response = FileResponse(
            message.file.open("rb"),
            content_type=message.content_type,
            as_attachment=message.content_type == "application/pdf",
            filename=message.file_name,
        )
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class AddParticipantSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=[(r.value, r.label) for r in ADDABLE_ROLES])


class ParticipantsView(APIView):
    """Who may be in the room; the doctor adds a specialist, interpreter or family member."""

    @extend_schema(
        responses=inline_serializer(
            "RoomMembers", {"members": serializers.ListField(child=serializers.DictField())}
        )
    )
    def get(self, request: Request, consultation_id) -> Response:
        consultation, _member = selectors.consultation_for_member(request.user, consultation_id)
        return Response({"members": [m.as_dict() for m in selectors.room_members(consultation)]})

    @extend_schema(
        request=AddParticipantSerializer,
        responses={201: inline_serializer("RoomMember", {"user_id": serializers.UUIDField()})},
    )
    def post(self, request: Request, consultation_id) -> Response:
        form = AddParticipantSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        participant = services.add_participant(
            request.user,
            consultation_id,
            form.validated_data["user_id"],
            form.validated_data["role"],
        )
        return Response({"user_id": str(participant.user_id), "role": participant.role}, 201)


class ProbeView(APIView):
    """Bytes that cannot be compressed, for the device check to time the connection."""

    @extend_schema(
        parameters=[OpenApiParameter("bytes", int)],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request: Request) -> HttpResponse:
        try:
            size = min(max(int(request.query_params.get("bytes", "1024")), 0), PROBE_MAX_BYTES)
        except ValueError:
            size = 1024
        response = HttpResponse(os.urandom(size), content_type="application/octet-stream")
        response["Cache-Control"] = "no-store"
        return response


urlpatterns = [
    path("rooms/<uuid:consultation_id>/join-token", JoinTokenView.as_view(), name="join-token"),
    path("rooms/<uuid:consultation_id>/messages", MessagesView.as_view(), name="room-messages"),
    path("rooms/<uuid:consultation_id>/files", FilesView.as_view(), name="room-files"),
    path(
        "rooms/<uuid:consultation_id>/files/<uuid:message_id>",
        FileDownloadView.as_view(),
        name="room-file",
    ),
    path(
        "rooms/<uuid:consultation_id>/participants",
        ParticipantsView.as_view(),
        name="room-participants",
    ),
    path("probe", ProbeView.as_view(), name="probe"),
]
