"""Queues, the tickets waiting in them, and which doctors are serving which queue now.

A queue is one line of patients: an online OPD's (Online OPD line), one hub's for one
specialty (hub-and-spoke line), or a state's overflow for one specialty. The claim, the
near-turn marks and the doctor figures are keyed on it. No HTTP here.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile, Facility, OnlineOPD, Specialty, State

#: Ticket states in which the patient holds a place (at most one per patient).
LIVE_STATUSES = ("waiting", "called", "in_consultation")
#: Ticket references indexed only where set (see ``Ticket.Meta``).
NULLABLE_REFERENCES = (
    "hub", "specialty", "preferred_doctor", "follow_up_of", "claimed_by", "created_by",
)  # fmt: skip


class QueueManager(models.Manager):
    def for_opd(self, opd: OnlineOPD) -> Queue:
        """The OPD's queue, made on first use: OPDs are created in the registry, which
        knows nothing of queues."""
        queue, _created = self.get_or_create(
            opd=opd,
            defaults={
                "kind": Queue.Kind.OPD,
                "state_id": opd.state_id,
                "specialty_id": opd.specialty_id,
                "label": opd.name[:200],
            },
        )
        return queue

    def for_hub(self, hub: Facility, specialty: Specialty) -> Queue:
        """The hub's queue for one specialty, made on first use."""
        queue, _created = self.get_or_create(
            kind=Queue.Kind.HUB_SPECIALTY,
            hub=hub,
            specialty=specialty,
            defaults={"state_id": hub.state_id, "label": f"{hub.name}: {specialty.name}"[:200]},
        )
        return queue

    def for_state_overflow(self, state: State, specialty: Specialty) -> Queue:
        """The state's overflow queue for one specialty, made on first use."""
        queue, _created = self.get_or_create(
            kind=Queue.Kind.STATE_OVERFLOW,
            state=state,
            specialty=specialty,
            defaults={"label": f"{state.name}: {specialty.name} (overflow)"[:200]},
        )
        return queue


class Queue(models.Model):
    """One line of patients. Which references a queue has depends on its kind (the
    constraints say so): an OPD's queue names its OPD; a hub's names the hub and the
    specialty; a state's overflow names the state and the specialty."""

    class Kind(models.TextChoices):
        OPD = "opd", _("Online OPD")
        HUB_SPECIALTY = "hub_specialty", _("Hub, one specialty")
        STATE_OVERFLOW = "state_overflow", _("State-wide overflow, one specialty")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=200)
    opd = models.OneToOneField(
        OnlineOPD, on_delete=models.CASCADE, null=True, blank=True, related_name="queue"
    )
    hub = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="queues"
    )
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, null=True, blank=True, related_name="queues"
    )
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, null=True, blank=True, related_name="queues"
    )

    objects = QueueManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="opd", opd__isnull=False, hub__isnull=True)
                | Q(
                    kind="hub_specialty",
                    opd__isnull=True,
                    hub__isnull=False,
                    specialty__isnull=False,
                )
                | Q(
                    kind="state_overflow",
                    opd__isnull=True,
                    hub__isnull=True,
                    specialty__isnull=False,
                    state__isnull=False,
                ),
                name="queue_kind_has_its_references",
            ),
            models.UniqueConstraint(
                fields=["hub", "specialty"],
                condition=Q(kind="hub_specialty"),
                name="one_queue_per_hub_specialty",
            ),
            models.UniqueConstraint(
                fields=["state", "specialty"],
                condition=Q(kind="state_overflow"),
                name="one_overflow_queue_per_state_specialty",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Ticket(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called: join now")
        IN_CONSULTATION = "in_consultation", _("In consultation")
        MISSED = "missed", _("Missed the call")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired at closing")

    class Priority(models.IntegerChoices):
        HEAD = 0, _("Head of queue (returning after a drop or a missed call)")
        URGENT = 1, _("Urgent (danger signs recorded at the health centre)")
        FOLLOW_UP = 5, _("Follow-up")
        NORMAL = 10, _("Normal")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="tickets")
    #: The line the ticket waits in. ``opd`` (and ``hub``, ``specialty``) stay as the
    #: service line's own references, which pages and records read.
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, db_index=False, related_name="tickets"
    )
    opd = models.ForeignKey(
        OnlineOPD,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="tickets",
    )
    hub = models.ForeignKey(
        Facility,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="hub_tickets",
    )
    spoke = models.ForeignKey(
        Facility,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="spoke_tickets",
    )
    specialty = models.ForeignKey(
        Specialty,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="tickets",
    )
    service_date = models.DateField(_("service date"), db_index=True)
    token_number = models.PositiveIntegerField(_("token number"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    queued_at = models.DateTimeField(_("queued at"), db_index=True)
    complaint = models.CharField(_("main complaint"), max_length=500, blank=True)
    language = models.CharField(max_length=8, blank=True)
    preferred_doctor = models.ForeignKey(
        DoctorProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    follow_up_of = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        help_text=_("The completed consultation this token follows up (set when it is booked)."),
    )
    claimed_by = models.ForeignKey(
        DoctorProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="tickets",
    )
    called_at = models.DateTimeField(null=True, blank=True)
    call_expires_at = models.DateTimeField(null=True, blank=True)
    service_started_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the patient joined the doctor's call.")
    )
    service_ended_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the patient had been seen (completed).")
    )
    missed_count = models.PositiveSmallIntegerField(default=0)
    near_turn_notified = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "queued_at"]
        # A claim rewrites the row (its status is indexed), and PostgreSQL then adds an
        # entry to every index whose condition the new row meets. The references a ticket
        # of one service line never has (a hub ticket's OPD, an OPD ticket's hub, spoke,
        # specialty...) are indexed only where set, so a claim does not maintain them;
        # lookups by them (``field = x``) use these partial indexes all the same. The
        # OPD's own lookups use ``ticket_opd_waiting_idx`` and the token-number constraint.
        indexes = [
            models.Index(
                fields=["opd", "priority", "queued_at"],
                condition=Q(status="waiting"),
                name="ticket_opd_waiting_idx",
            ),
            models.Index(
                fields=["queue", "priority", "queued_at"],
                condition=Q(status="waiting"),
                name="ticket_queue_waiting_idx",
            ),
            models.Index(
                fields=["hub", "specialty", "priority", "queued_at"],
                condition=Q(status="waiting"),
                name="ticket_hub_waiting_idx",
            ),
            # A spoke's cases by day: its next number (an index-only scan backwards) and
            # the centre's list of today's cases.
            models.Index(
                fields=["spoke", "service_date", "token_number"],
                condition=Q(spoke__isnull=False),
                name="ticket_spoke_day_idx",
            ),
            models.Index(
                fields=["opd", "service_ended_at"],
                condition=Q(status="completed"),
                name="ticket_opd_served_idx",
            ),
            models.Index(
                fields=["call_expires_at"],
                condition=Q(status="called"),
                name="ticket_call_expiry_idx",
            ),
            *(
                models.Index(
                    fields=[field],
                    condition=Q(**{f"{field}__isnull": False}),
                    name=f"ticket_{field}_idx",
                )
                for field in NULLABLE_REFERENCES
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=LIVE_STATUSES),
                name="one_live_ticket_per_patient",
            ),
            models.UniqueConstraint(
                fields=["opd", "service_date", "token_number"],
                condition=Q(opd__isnull=False),
                name="token_number_unique_per_opd_day",
            ),
            models.CheckConstraint(
                condition=Q(opd__isnull=False, hub__isnull=True)
                | Q(opd__isnull=True, hub__isnull=False),
                name="ticket_waits_for_opd_or_hub",
            ),
        ]

    def __str__(self) -> str:
        return f"Token {self.token_number} ({self.get_status_display()})"


class DoctorPresence(models.Model):
    """Whether a doctor is serving a queue now. One row per doctor: a doctor serves one
    OPD or hub at a time."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Online, available")
        BUSY = "busy", _("Online, in a consultation")
        ON_BREAK = "on_break", _("On a break")
        OFFLINE = "offline", _("Offline")

    doctor = models.OneToOneField(DoctorProfile, on_delete=models.CASCADE, related_name="presence")
    #: The queue the doctor serves (set with ``opd`` or ``hub`` when going online).
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="presences"
    )
    opd = models.ForeignKey(
        OnlineOPD, on_delete=models.CASCADE, null=True, blank=True, related_name="presences"
    )
    hub = models.ForeignKey(
        Facility, on_delete=models.CASCADE, null=True, blank=True, related_name="presences"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFLINE)
    auto_assign = models.BooleanField(_("assign me the next patient automatically"), default=False)
    since = models.DateTimeField(auto_now=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        # No index holds ``status``: every call and every end of a consultation flips it,
        # and PostgreSQL can then rewrite the row in place (a HOT update, helped by the
        # table's fillfactor, migration 0009) instead of adding an entry to every index.
        # An OPD's or hub's doctors are found through the opd/hub indexes; they are tens.
        indexes: list[models.Index] = []

    def __str__(self) -> str:
        return f"{self.doctor}: {self.get_status_display()}"
