"""People: one user model with a role, and the one-time codes patients sign in with."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
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

    objects = SanjeevaniUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"],
                condition=models.Q(role="patient"),
                name="one_patient_account_per_mobile",
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
