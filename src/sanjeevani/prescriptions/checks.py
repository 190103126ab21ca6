"""Deployment check: production must have its prescription signing key before it serves,
or the first prescription (and the public key page) would fail at the doctor's desk."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def signing_key_present(app_configs, **kwargs) -> list[Error]:
    path = settings.SIGNING_KEY_FILE
    if path.exists():
        return []
    return [
        Error(
            f"The prescription signing key {path} is missing.",
            hint="Run `manage.py create_signing_key` once, or point SIGNING_KEY_FILE at the key.",
            id="sanjeevani.E001",
        )
    ]
