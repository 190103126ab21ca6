"""The one check every clinical upload passes (patient documents, files shared in a room):
a size limit and a type read from the content, never from the file name."""

from __future__ import annotations

from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

ALLOWED_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    extension: str
    size: int


def check_clinical_upload(upload: UploadedFile, max_bytes: int | None = None) -> CheckedUpload:
    """Refuse files that are too big, empty, or not really a PDF, JPEG or PNG."""
    limit = max_bytes or settings.UPLOAD_MAX_BYTES
    size = upload.size or 0
    if size == 0:
        raise ValidationError(_("The file is empty. Choose the file again."), code="empty")
    if size > limit:
        raise ValidationError(
            _(
                "The file is %(size).1f MB; the limit is %(limit).0f MB. "
                "Send a smaller photo or scan."
            )
            % {"size": size / 1_048_576, "limit": limit / 1_048_576},
            code="too_big",
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise ValidationError(
            _("Only PDF, JPEG or PNG files can be shared. This file is not one of them."),
            code="bad_type",
        )
    return CheckedUpload(content_type=kind.mime, extension=ALLOWED_TYPES[kind.mime], size=size)
