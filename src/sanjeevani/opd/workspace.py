"""The Online OPD's mount of the clinician's workspace: its line and its queues (the OPDs)."""

from __future__ import annotations

from django.db.models import QuerySet

from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace.mount import Mount
from sanjeevani.registry.models import DoctorProfile, OnlineOPD


def all_opds() -> QuerySet[OnlineOPD]:
    return OnlineOPD.objects.all()


def doctor_opds(doctor: DoctorProfile) -> QuerySet[OnlineOPD]:
    """The active OPDs the doctor is rostered on: what the console offers to go online for."""
    return doctor.opds.filter(active=True).select_related("state", "specialty")


OPD_WORKSPACE = Mount(
    service_line=Consultation.ServiceLine.OPD, queues=all_opds, queues_of=doctor_opds
)
