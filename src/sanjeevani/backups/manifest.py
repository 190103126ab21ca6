"""What a backup holds, counted at the instant of its dump, and the check of a restore
against it. Read-only: nothing here writes to the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import FileField
from django.utils import timezone

from sanjeevani.prescriptions.models import DoctorSigningKey, Prescription
from sanjeevani.prescriptions.signing import key_id, verify_content, verify_doctor_content

MANIFEST_VERSION = 1
_CHUNK = 2000


def _counted_models() -> list[type[models.Model]]:
    """Every table the project owns, plus Django's own that hold people and permissions."""
    keep = ("sanjeevani.", "django.contrib.auth", "django.contrib.contenttypes")
    return sorted(
        (
            model
            for model in apps.get_models()
            if model._meta.managed
            and not model._meta.proxy
            and model._meta.app_config.name.startswith(keep)
        ),
        key=lambda model: model._meta.label_lower,
    )


def _file_fields() -> list[tuple[type[models.Model], FileField]]:
    return [
        (model, f)
        for model in _counted_models()
        for f in model._meta.get_fields()
        if isinstance(f, FileField)
    ]


def _prescription_digest() -> tuple[int, str]:
    """SHA-256 over every prescription's id and both signatures, in id order: a lost,
    added or re-signed prescription changes it."""
    digest = hashlib.sha256()
    count = 0
    rows = Prescription.objects.order_by("pk").values_list("pk", "signature", "doctor_signature")
    for pk, signature, doctor_signature in rows.iterator(chunk_size=_CHUNK):
        digest.update(f"{pk}:{signature}:{doctor_signature}\n".encode())
        count += 1
    return count, digest.hexdigest()


def take_manifest() -> dict[str, Any]:
    """Counts and digests of the database as the current transaction sees it."""
    count, digest = _prescription_digest()
    return {
        "version": MANIFEST_VERSION,
        "taken_at": timezone.now().isoformat(),
        "signing_key_id": key_id(),
        "counts": {
            model._meta.label_lower: model._default_manager.count() for model in _counted_models()
        },
        "prescriptions": {"count": count, "digest": digest},
        "files": sum(
            model._default_manager.exclude(**{f.name: ""}).count() for model, f in _file_fields()
        ),
    }


@dataclass
class RestoreCheck:
    """What a restored database lacks or got wrong; empty lists mean nothing was lost."""

    count_differences: list[str] = field(default_factory=list)
    bad_signatures: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    prescriptions_checked: int = 0
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.count_differences or self.bad_signatures or self.missing_files or self.other
        )

    def lines(self) -> list[str]:
        out = [
            f"prescriptions verified: {self.prescriptions_checked}",
            f"stored files found: {self.files_checked - len(self.missing_files)} of "
            f"{self.files_checked}",
        ]
        for title, found in (
            ("row counts that differ", self.count_differences),
            ("prescriptions whose signature fails", self.bad_signatures),
            ("stored files missing", self.missing_files),
            ("other differences", self.other),
        ):
            if found:
                out.append(f"{title} ({len(found)}):")
                out.extend(f"  {line}" for line in found[:50])
                if len(found) > 50:
                    out.append(f"  … and {len(found) - 50} more")
        out.append("lost: nothing" if self.ok else "lost: see above")
        return out


def _check_signatures(check: RestoreCheck) -> None:
    """Both signatures of every prescription, as the public verification page checks
    them, without a query per prescription."""
    public_keys = {
        (row["key_id"], row["doctor_id"]): row["public_key"]
        for row in DoctorSigningKey.objects.values("key_id", "doctor_id", "public_key")
    }
    rows = Prescription.objects.order_by("pk").values_list(
        "pk", "content", "signature", "key_id", "doctor_id", "doctor_signature", "doctor_key_id"
    )
    for (
        pk,
        content,
        signature,
        platform_key,
        doctor_id,
        doctor_signature,
        doctor_key,
    ) in rows.iterator(chunk_size=_CHUNK):
        check.prescriptions_checked += 1
        if not verify_content(content, signature, platform_key):
            check.bad_signatures.append(f"{pk}: platform signature (key {platform_key})")
            continue
        if not doctor_signature:
            continue
        named = (content.get("doctor") or {}).get("key_id")
        public = public_keys.get((doctor_key, doctor_id))
        if (
            named != doctor_key
            or public is None
            or not verify_doctor_content(content, doctor_signature, doctor_key, public)
        ):
            check.bad_signatures.append(f"{pk}: doctor's signature (key {doctor_key})")


def _check_files(check: RestoreCheck) -> None:
    for model, f in _file_fields():
        names = model._default_manager.exclude(**{f.name: ""}).values_list("pk", f.name)
        for pk, name in names.iterator(chunk_size=_CHUNK):
            check.files_checked += 1
            if not f.storage.exists(name):
                check.missing_files.append(f"{model._meta.label_lower} {pk}: {name}")


def check_restore(manifest: dict[str, Any]) -> RestoreCheck:
    """Compare the database (as restored) with the manifest taken at the dump, and verify
    every prescription's signatures and every stored file."""
    check = RestoreCheck()
    if manifest.get("version") != MANIFEST_VERSION:
        check.other.append(f"manifest version {manifest.get('version')!r} is not understood")
        return check
    if manifest["signing_key_id"] != key_id():
        check.other.append(
            f"the platform signing key is {key_id()}, the backup's is "
            f"{manifest['signing_key_id']}: restore the key file from the backup"
        )
    now = take_manifest()
    for label in sorted(set(manifest["counts"]) | set(now["counts"])):
        before, after = manifest["counts"].get(label), now["counts"].get(label)
        if before != after:
            check.count_differences.append(f"{label}: {before} in the backup, {after} now")
    if now["prescriptions"] != manifest["prescriptions"]:
        check.other.append(
            "the prescriptions' ids or signatures differ from the backup's "
            f"({manifest['prescriptions']['count']} then, {now['prescriptions']['count']} now)"
        )
    _check_signatures(check)
    _check_files(check)
    return check
