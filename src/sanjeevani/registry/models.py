"""Places and the people who serve in them: states, facilities, hub-spoke links, online
OPDs with their weekly schedules, doctors, rosters, and staff postings (the scope an
administrator, CHO or hub coordinator works in)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MINUTES_PER_DAY = 24 * 60


def validate_minutes(start: int | None, end: int | None) -> None:
    """Hours within one day, start before end (split overnight hours at midnight)."""
    if start is None or end is None:
        return
    if end > MINUTES_PER_DAY:
        raise ValidationError(_("A time cannot be later than 24:00 (1440 minutes)."))
    if start >= end:
        raise ValidationError(
            _("The end must be after the start; split overnight hours at midnight.")
        )


#: The largest population a district or a spoke's catchment may be given: several times the
#: largest district of India (about 11 million people), so a figure beyond it is a typing
#: error (a digit too many), not a place.
POPULATION_MAX = 50_000_000


def population_validators() -> list:
    """A population is a whole number of people, at least one (the equity view divides by it)
    and at most ``POPULATION_MAX``; empty means not known."""
    return [
        MinValueValidator(
            1, _("A population is at least 1 person; leave it empty when it is not known.")
        ),
        MaxValueValidator(
            POPULATION_MAX,
            _(
                "A population cannot be more than 50,000,000 (the largest district has about "
                "11 million people); check the figure for a digit too many."
            ),
        ),
    ]


class State(models.Model):
    class Kind(models.TextChoices):
        STATE = "state", _("State")
        UNION_TERRITORY = "ut", _("Union territory")

    code = models.CharField(_("code"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.STATE)
    #: How long a hub-and-spoke case waits with the spoke's own hubs before every hub of the
    #: state with that specialty sees it (``hwc.routing``).
    hub_overflow_minutes = models.PositiveSmallIntegerField(
        _("minutes before a case overflows to every hub of the state"), default=15
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="districts")
    name = models.CharField(_("name"), max_length=100)
    #: People living in the district, for the dashboards' equity view (consultations per
    #: 100,000 people); empty when not known, and the district is then ranked by count.
    population = models.PositiveBigIntegerField(
        _("population"),
        null=True,
        blank=True,
        validators=population_validators(),
        help_text=_(
            "People living in the district (for example the latest census or projection); "
            "leave empty when not known."
        ),
    )

    class Meta:
        ordering = ["state__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["state", "name"], name="district_unique_in_state"),
            models.CheckConstraint(
                condition=Q(population__isnull=True) | Q(population__gte=1),
                name="district_population_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.state.code}"


class Specialty(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("specialties")

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    """A health facility. It may request consultations (spoke), serve them (hub), or both."""

    class Level(models.TextChoices):
        SUB_CENTRE = "sc", _("Sub-centre / Health & Wellness Centre")
        PHC = "phc", _("Primary Health Centre")
        CHC = "chc", _("Community Health Centre")
        SUB_DISTRICT = "sdh", _("Sub-district hospital")
        DISTRICT = "dh", _("District hospital")
        MEDICAL_COLLEGE = "mc", _("Medical college")
        TERTIARY = "tertiary", _("Tertiary hospital")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("facility code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="facilities")
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="facilities"
    )
    is_hub = models.BooleanField(_("acts as hub"), default=False)
    is_spoke = models.BooleanField(_("acts as spoke"), default=False)
    active = models.BooleanField(_("active"), default=True)
    #: The people a spoke serves (a Health & Wellness Centre: typically 3,000 to 30,000), for
    #: the equity view's consultations per 100,000 people; empty when not known (the spoke
    #: is then ranked by count) and for a facility that is only a hub.
    catchment_population = models.PositiveIntegerField(
        _("catchment population"),
        null=True,
        blank=True,
        validators=population_validators(),
        help_text=_(
            "For a spoke: the people it serves (a Health & Wellness Centre typically "
            "3,000 to 30,000); leave empty when not known."
        ),
    )

    class Meta:
        ordering = ["state__name", "name"]
        verbose_name_plural = _("facilities")
        indexes = [
            models.Index(fields=["state", "is_hub"]),
            models.Index(fields=["state", "is_spoke"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_hub=True) | Q(is_spoke=True), name="facility_is_hub_or_spoke"
            ),
            models.CheckConstraint(
                condition=Q(catchment_population__isnull=True) | Q(catchment_population__gte=1),
                name="facility_catchment_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if not (self.is_hub or self.is_spoke):
            raise ValidationError(_("A facility must act as a hub, a spoke, or both."))
        if self.district_id and self.state_id and self.district.state_id != self.state_id:
            raise ValidationError({"district": _("This district is in another state.")})
        if self.catchment_population is not None and not self.is_spoke:
            raise ValidationError(
                {
                    "catchment_population": _(
                        'Only a spoke has a catchment population: tick "acts as spoke" or '
                        "leave it empty."
                    )
                }
            )


class HubSpokeLink(models.Model):
    """A spoke may ask this hub for these specialties; lower priority numbers are asked first."""

    hub = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="spoke_links")
    spoke = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="hub_links")
    specialties = models.ManyToManyField(Specialty, related_name="hub_spoke_links")
    priority = models.PositiveSmallIntegerField(_("priority"), default=1)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["spoke", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["hub", "spoke"], name="hub_spoke_link_unique"),
            models.CheckConstraint(condition=~Q(hub=models.F("spoke")), name="hub_is_not_spoke"),
        ]

    def __str__(self) -> str:
        return f"{self.spoke.code} → {self.hub.code} (priority {self.priority})"

    def clean(self) -> None:
        errors = {}
        if self.hub_id and self.hub_id == self.spoke_id:
            errors["spoke"] = _("A facility cannot be linked to itself.")
        if self.hub_id and not self.hub.is_hub:
            errors["hub"] = _("This facility does not act as a hub.")
        if self.spoke_id and not self.spoke.is_spoke:
            errors["spoke"] = _("This facility does not act as a spoke.")
        if errors:
            raise ValidationError(errors)


class OnlineOPD(models.Model):
    """A patient-facing online OPD: state-run or national, general or one specialty."""

    class Scope(models.TextChoices):
        STATE = "state", _("State")
        NATIONAL = "national", _("National")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.STATE)
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, null=True, blank=True, related_name="opds"
    )
    specialty = models.ForeignKey(
        Specialty,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opds",
        help_text=_("Empty for a general OPD."),
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    daily_capacity = models.PositiveIntegerField(_("tokens per day"), default=200)
    consultation_minutes = models.PositiveSmallIntegerField(
        _("expected minutes per consultation"), default=6
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("online OPD")
        verbose_name_plural = _("online OPDs")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="national", state__isnull=True)
                | Q(scope="state", state__isnull=False),
                name="opd_state_matches_scope",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_general(self) -> bool:
        return self.specialty_id is None

    def clean(self) -> None:
        if self.scope == self.Scope.STATE and not self.state_id:
            raise ValidationError({"state": _("A state OPD needs its state.")})
        if self.scope == self.Scope.NATIONAL and self.state_id:
            raise ValidationError({"state": _("A national OPD belongs to no state.")})

    def is_open_at(self, when: dt.datetime | None = None) -> bool:
        local = timezone.localtime(when or timezone.now())
        minute = local.hour * 60 + local.minute
        return any(
            w.weekday == local.weekday() and w.start_minute <= minute < w.end_minute
            for w in self.opening_windows.all()
        )

    def next_opening(self, when: dt.datetime | None = None) -> dt.datetime | None:
        """The start of the next opening window after ``when`` (within a week), or None."""
        local = timezone.localtime(when or timezone.now())
        windows = list(self.opening_windows.all())
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(8):
            date = midnight + dt.timedelta(days=day)
            starts = sorted(
                date + dt.timedelta(minutes=w.start_minute)
                for w in windows
                if w.weekday == date.weekday()
            )
            for start in starts:
                if start > local:
                    return start
        return None


class OpeningWindow(models.Model):
    """One weekly window of an OPD, in local (IST) minutes since midnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    opd = models.ForeignKey(OnlineOPD, on_delete=models.CASCADE, related_name="opening_windows")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_minute = models.PositiveSmallIntegerField(_("opens (minutes after midnight)"))
    end_minute = models.PositiveSmallIntegerField(_("closes (minutes after midnight)"))

    class Meta:
        ordering = ["opd", "weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_minute__lt=models.F("end_minute"))
                & Q(end_minute__lte=MINUTES_PER_DAY)
                & Q(weekday__lte=6),
                name="opening_window_valid",
            )
        ]

    def __str__(self) -> str:
        start, end = divmod(self.start_minute, 60), divmod(self.end_minute, 60)
        return (
            f"{self.get_weekday_display()} {start[0]:02d}:{start[1]:02d}–{end[0]:02d}:{end[1]:02d}"
        )

    def clean(self) -> None:
        validate_minutes(self.start_minute, self.end_minute)


class DoctorProfile(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="doctor_profile"
    )
    registration_number = models.CharField(_("medical registration number"), max_length=40)
    council = models.CharField(_("registering council"), max_length=120)
    qualification = models.CharField(_("qualification"), max_length=200)
    # Printed on every prescription (Telemedicine Practice Guidelines: the patient and the
    # pharmacist must be able to reach the prescriber); professional, never a personal number.
    contact_phone = models.CharField(_("professional phone"), max_length=20, blank=True)
    contact_email = models.EmailField(_("professional email"), blank=True)
    specialties = models.ManyToManyField(Specialty, related_name="doctors", blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, null=True, blank=True, related_name="doctors"
    )
    opds = models.ManyToManyField(OnlineOPD, related_name="doctors", blank=True)
    hubs = models.ManyToManyField(
        Facility, related_name="doctors", blank=True, limit_choices_to={"is_hub": True}
    )

    class Meta:
        ordering = ["user__first_name", "user__last_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration_number", "council"], name="doctor_registration_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Dr {self.user.get_full_name() or self.user.username} ({self.registration_number})"


class RosterShift(models.Model):
    """A weekly shift: this doctor serves this OPD or this hub on this weekday, these hours."""

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="shifts")
    opd = models.ForeignKey(
        OnlineOPD, on_delete=models.CASCADE, null=True, blank=True, related_name="shifts"
    )
    hub = models.ForeignKey(
        Facility, on_delete=models.CASCADE, null=True, blank=True, related_name="shifts"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=OpeningWindow.Weekday.choices)
    start_minute = models.PositiveSmallIntegerField(_("starts (minutes after midnight)"))
    end_minute = models.PositiveSmallIntegerField(_("ends (minutes after midnight)"))

    class Meta:
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(opd__isnull=False, hub__isnull=True) | Q(opd__isnull=True, hub__isnull=False)
                ),
                name="roster_shift_serves_opd_or_hub",
            ),
            models.CheckConstraint(
                condition=Q(start_minute__lt=models.F("end_minute"))
                & Q(end_minute__lte=MINUTES_PER_DAY),
                name="roster_shift_valid_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} @ {self.opd or self.hub} ({self.get_weekday_display()})"

    def clean(self) -> None:
        if bool(self.opd_id) == bool(self.hub_id):
            raise ValidationError(
                _("A shift serves either one OPD or one hub: choose exactly one.")
            )
        if self.hub_id and not self.hub.is_hub:
            raise ValidationError({"hub": _("This facility does not act as a hub.")})
        validate_minutes(self.start_minute, self.end_minute)


class Posting(models.Model):
    """Where a staff member works: their state and, for CHOs and hub coordinators, facility.

    Kept here rather than on the user so that ``accounts`` does not depend on places.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posting"
    )
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, null=True, blank=True, related_name="postings"
    )
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="postings"
    )

    def __str__(self) -> str:
        return f"{self.user} at {self.facility or self.state or 'national'}"

    def clean(self) -> None:
        if self.facility_id and not self.state_id:
            self.state_id = self.facility.state_id
        elif self.facility_id and self.facility.state_id != self.state_id:
            raise ValidationError({"facility": _("This facility is in another state.")})
