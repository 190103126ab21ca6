"""People: one user model with a role, and the one-time codes patients sign in with."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import NamedTuple

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")
    CHO = "cho", _("Community Health Officer")
    HUB_COORDINATOR = "hub_coordinator", _("Hub coordinator")
    STATE_ADMIN = "state_admin", _("State administrator")
    NATIONAL_ADMIN = "national_admin", _("National administrator")
    OPERATOR = "operator", _("Assisted-registration operator")


STAFF_ROLES = frozenset(Role) - {Role.PATIENT}
ADMIN_ROLES = frozenset({Role.STATE_ADMIN, Role.NATIONAL_ADMIN})
#: Roles that may open the Django admin (each sees only its own scope there).
ADMIN_SITE_ROLES = frozenset({Role.STATE_ADMIN, Role.NATIONAL_ADMIN, Role.HUB_COORDINATOR})


class SanjeevaniUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """A superuser from ``createsuperuser`` is a national administrator, not a patient."""
        extra_fields.setdefault("role", Role.NATIONAL_ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Anyone who signs in. Patients are keyed by mobile number; staff by username."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.PATIENT)
    mobile = models.CharField(
        _("mobile number"), max_length=16, blank=True, help_text=_("In E.164 form: +91XXXXXXXXXX")
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, default="en")
    #: Set by ``seed_demo`` when it gives the account the published demo password, so the
    #: deployment check runs the (slow) hasher on these accounts only.
    demo_password_set = models.BooleanField(default=False, editable=False)
    #: Raised by "sign out everywhere": every browser session made before it stops working
    #: (it is part of the session's hash, as the password is).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = SanjeevaniUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"],
                condition=models.Q(role="patient"),
                name="one_patient_account_per_mobile",
            )
        ]
        indexes = [
            # The staff among tens of millions of patient accounts: the administration's
            # search by name reads these rows only (admin.SanjeevaniUserAdmin; 0005).
            models.Index(
                fields=["username"], condition=~models.Q(role="patient"), name="user_staff"
            )
        ]

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_national_admin(self) -> bool:
        return self.role == Role.NATIONAL_ADMIN or self.is_superuser

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's hash of the password, plus the session epoch once it was raised (so
        sessions of people who never signed out everywhere keep the hash they have)."""
        password_hash = super()._get_session_auth_hash(secret=secret)
        if not self.session_epoch:
            return password_hash
        return salted_hmac(
            "sanjeevani.accounts.User.session_epoch",
            f"{password_hash}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class OTPChallenge(models.Model):
    """One code sent to one mobile number. Only an HMAC of the code is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mobile = models.CharField(max_length=16, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["mobile", "-created_at"])]

    def __str__(self) -> str:
        return f"OTP for {self.mobile} at {self.created_at:%H:%M:%S}"


class SignInCounter(models.Model):
    """Failed sign-in tries under one key: a username or mobile number (the ceiling every
    address shares) or a (username, address) pair. One row per key, changed only under
    ``SELECT ... FOR UPDATE``, so concurrent tries are counted exactly on every database.
    The key is a hash, so the table holds no usernames, numbers or addresses."""

    key = models.CharField(max_length=80, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"


#: Characters of a key kept in clear to find its row (the rest is only hashed).
KEY_PREFIX_LENGTH = 8
#: Longest key a client may present; anything longer is not ours.
KEY_MAX_LENGTH = 128


def hash_key(key: str) -> str:
    """SHA-256 of the key: a 256-bit random key needs no slow hash, and a database leak then
    holds nothing that signs anyone in."""
    return hashlib.sha256(key.encode()).hexdigest()


class IssuedKey(NamedTuple):
    token: DeviceToken
    key: str


class DeviceTokenManager(models.Manager["DeviceToken"]):
    def issue(self, user: User, device: str = "") -> IssuedKey:
        """A new row and the key the client keeps; the key is returned once, never stored."""
        key = secrets.token_urlsafe(32)
        token = self.create(
            user=user,
            key_prefix=key[:KEY_PREFIX_LENGTH],
            key_hash=hash_key(key),
            device=device,
        )
        return IssuedKey(token, key)


class DeviceToken(models.Model):
    """One app sign-in on one device: signing out on one phone ends that row only. Revoking
    deletes the row (the audit trail keeps who revoked which device); an expired row is
    refused and purged at the owner's next sign-in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="device_tokens", verbose_name=_("person")
    )
    key_prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    device = models.CharField(_("device"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now, editable=False)

    objects = DeviceTokenManager()

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [
            models.Index(fields=["user", "-last_used_at"]),
            # The purge of idle tokens and the administration's list, newest use first.
            models.Index(fields=["last_used_at"], name="devicetoken_last_used"),
        ]
        verbose_name = _("signed-in device")
        verbose_name_plural = _("signed-in devices")

    def __str__(self) -> str:
        return f"{self.device or '?'} ({self.key_prefix}...)"
