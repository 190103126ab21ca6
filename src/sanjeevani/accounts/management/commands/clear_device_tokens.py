"""``manage.py clear_device_tokens``: delete API tokens past their idle lifetime. Started
daily with ``clearsessions`` by deploy/systemd/sanjeevani-clearsessions.service."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanjeevani.accounts.api_tokens import purge_expired_tokens


class Command(BaseCommand):
    help = "Delete device tokens unused for longer than API_TOKEN_IDLE_DAYS."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{purge_expired_tokens()} expired device token(s) deleted")
