"""The one check every clinical upload passes (patient documents, files shared in a room):
a size limit and a type read from the content, never from the file name.

A file must be exactly one allowed type. Browsers, PDF readers and archive tools each look
for their own markers (a PDF reader finds ``%PDF`` anywhere in the first kilobyte, a ZIP
reader starts from the end, a browser sniffing content looks for HTML tags), so a crafted
file can be a valid PNG *and* a web page, or a valid PDF *and* a ZIP. Such polyglots are
refused at upload: the type's signature must sit at byte 0, and no other format's markers
may appear anywhere in the file. Serving adds the second wall (``documents.document_response``:
sandbox, nosniff, download).
"""

from __future__ import annotations

import re
import struct
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
#: The signature each allowed type must start with, at byte 0 (no BOM, no junk before it).
SIGNATURES = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
#: Markers of a web page or script. Long enough (or anchored by the character after the
#: tag name) that compressed image or PDF data never contains one by chance: the chance for
#: a 10 MB random file is below one in ten thousand for the shortest, far below for the rest
#: (``tests/patients/test_uploads_polyglot.py`` checks 20 MB of random data).
HTML_MARKERS = re.compile(
    rb"<script|<iframe|<object[\s>]|<embed[\s>]|<html[\s>]|<body[\s>]|<svg[\s>]"
    rb"|<!doctype\s+html|<meta\s+http-equiv",
    re.IGNORECASE,
)
#: A PDF header inside an image (a reader would open the image as a PDF).
PDF_MARKER = re.compile(rb"%PDF-\d\.\d")
ZIP_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
ZIP_CENTRAL_DIRECTORY_ENTRY = b"PK\x01\x02"
#: The end record is 22 bytes plus a comment of at most 65535 bytes, at the end of the file.
ZIP_TAIL_BYTES = 22 + 0xFFFF


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    extension: str
    size: int


def _is_zip(data: bytes) -> bool:
    """True when a ZIP reader would open ``data``: an end-of-central-directory record near
    the end whose central directory really starts with an entry signature (offsets taken
    either from the file's start or from a ZIP appended to other data)."""
    tail_start = max(0, len(data) - ZIP_TAIL_BYTES)
    position = data.rfind(ZIP_END_OF_CENTRAL_DIRECTORY, tail_start)
    while position >= tail_start:
        record = data[position : position + 22]
        if len(record) == 22:
            entries, cd_size, cd_offset, comment = struct.unpack("<HLLH", record[10:22])
            if entries == 0 and cd_size == 0 and position + 22 + comment == len(data):
                return True  # an empty archive, exactly at the end
            for start in (cd_offset, position - cd_size):
                if 0 <= start < position and data[start : start + 4] == (
                    ZIP_CENTRAL_DIRECTORY_ENTRY
                ):
                    return True
        position = data.rfind(ZIP_END_OF_CENTRAL_DIRECTORY, tail_start, position)
    return False


def hidden_formats(content_type: str, data: bytes) -> list[str]:
    """The other formats ``data`` also is, besides ``content_type`` (empty when none)."""
    found = []
    if HTML_MARKERS.search(data):
        found.append("html")
    if content_type != "application/pdf" and PDF_MARKER.search(data):
        found.append("pdf")
    if _is_zip(data):
        found.append("zip")
    return found


def check_clinical_upload(upload: UploadedFile, max_bytes: int | None = None) -> CheckedUpload:
    """Refuse files that are too big, empty, not really a PDF, JPEG or PNG, or also
    something else (a web page, a ZIP, a PDF hidden in an image)."""
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
    # The size was checked above, so reading the whole file is bounded by the upload limit.
    data = upload.read(limit + 1)
    upload.seek(0)
    kind = filetype.guess(data[:8192])
    mime = kind.mime if kind is not None else ""
    if mime not in ALLOWED_TYPES or not data.startswith(SIGNATURES[mime]):
        raise ValidationError(
            _("Only PDF, JPEG or PNG files can be shared. This file is not one of them."),
            code="bad_type",
        )
    if hidden_formats(mime, data):
        raise ValidationError(
            _(
                "This file is a %(type)s but also contains a web page, an archive or another "
                "document hidden inside, so it cannot be shared. Open it and save or scan it "
                "again as a new PDF or photo, then send that file."
            )
            % {"type": ALLOWED_TYPES[mime].upper()},
            code="mixed_type",
        )
    return CheckedUpload(content_type=mime, extension=ALLOWED_TYPES[mime], size=size)
