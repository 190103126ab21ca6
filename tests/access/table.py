"""Who may reach each route of the project: the declarative table the access tests walk.

One ``Rule`` per named route. ``serves`` says whose route it is:

- ``public``: everyone, signed in or not;
- ``signed_in``: any signed-in person (the answer is scoped to them);
- ``patients`` / ``doctors``: any patient account / any doctor, about their own things;
- ``patient`` / ``doctor``: only the case's family account / only the case's doctor;
- ``care``: the case's family account and the case's doctor;
- ``staff``: any signed-in person who is not a patient.

Everyone else is refused: 404 when they are of the right kind but not on the case (so an
identifier reveals nothing), ``wrong_role`` (404 on pages, often 403 in the API) when the
route is not for their role at all. Anonymous people are sent to sign in on pages and get
401/403 from the API. ``audited`` routes show or change the patient's record: the right
party's read, and every write they get done, must leave an ``AuditEvent`` naming the
patient. The CHOs, the hub coordinator and the operator have no part in the case, so every
``care`` route refuses them (``consultations.care_team``; a hub-and-spoke case, where the
centre does have a part, is walked by ``test_care_team_routes.py``).

A route added without a row here fails ``test_every_route_has_access_rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .world import DOCTOR_ROLES, OPD_OUTSIDERS, PATIENT_ROLES, ROLES, World, pdf_upload

Args = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    name: str
    serves: str
    method: str = "get"
    args: Args | None = None
    data: Args | None = None
    audited: bool = False
    wrong_role: int = 404
    anonymous: str = ""
    multipart: bool = False
    #: The answer to a doctor who serves none of the case's OPDs, on a ``doctors`` route
    #: about the OPD's queue (None: served like any doctor).
    outsider: int | None = None

    @property
    def is_api(self) -> bool:
        return self.name.split(":")[0].endswith("-api") or self.name.startswith("api-")

    @property
    def anonymous_answer(self) -> str:
        if self.anonymous:
            return self.anonymous
        if self.serves == "public":
            return "ok"
        return "refused" if self.is_api else "sign_in"

    def ok_roles(self) -> frozenset[str]:
        return {
            "public": frozenset(ROLES),
            "signed_in": frozenset(ROLES) - {"anonymous"},
            "patients": PATIENT_ROLES,
            "doctors": DOCTOR_ROLES if self.outsider is None else DOCTOR_ROLES - OPD_OUTSIDERS,
            "patient": frozenset({"patient"}),
            "doctor": frozenset({"doctor"}),
            "care": frozenset({"patient", "doctor"}),
            "staff": frozenset(ROLES) - PATIENT_ROLES - {"anonymous"},
            "chos": frozenset({"cho", "other_cho"}),
            "hub_coordinators": frozenset({"hub_coordinator"}),
            "operators": frozenset({"operator"}),
            "administrators": frozenset({"state_admin", "other_state_admin", "national_admin"}),
        }[self.serves]

    def refusal_for(self, role: str) -> int:
        """404 for the wrong party of the right kind, ``wrong_role`` for the wrong kind."""
        if self.serves in {"patient", "patients"} and role in PATIENT_ROLES:
            return 404
        if self.outsider is not None and role in OPD_OUTSIDERS:
            return self.outsider
        if self.serves in {"doctor", "doctors"} and role in DOCTOR_ROLES:
            return 404
        if self.serves == "care":
            return 404
        return self.wrong_role


def patient(w: World) -> dict:
    return {"patient_id": w.patient.pk}


def ticket(w: World) -> dict:
    return {"ticket_id": w.ticket.pk}


def consultation(w: World) -> dict:
    return {"consultation_id": w.consultation.pk}


def prescription(w: World) -> dict:
    return {"prescription_id": w.prescription.pk}


def document(w: World) -> dict:
    return {"document_id": w.document.pk}


def opd(w: World) -> dict:
    return {"opd_id": w.opd.pk}


def for_patient(w: World) -> dict:
    return {"patient": str(w.patient.pk)}


P, D = "patient", "doctor"
PATIENT_API = {"wrong_role": 403}
DOCTOR_API = {"wrong_role": 403}
#: The family pages answer staff with 403: the role is wrong, and no identifier is confirmed.
PATIENT_PAGE = {"wrong_role": 403}
#: The doctor's pages likewise: another role gets the styled 403 naming whose page it is.
DOCTOR_PAGE = {"wrong_role": 403}

RULES: list[Rule] = [
    # --- portal, sign-in, language, schema
    Rule("portal:home", "public"),
    Rule("portal:overview", "administrators", **PATIENT_PAGE),
    Rule("accounts:otp_sign_in", "public"),
    Rule("accounts:staff_login", "public"),
    Rule("accounts:enrol_2fa", "staff", wrong_role=302),
    # a password-setting link from the admin: public, the token in the link is the check
    Rule("accounts:set_password", "public", args=lambda w: {"uidb64": "MQ", "token": "x-y"}),
    Rule("accounts:logout", "signed_in", method="post", anonymous="ok"),
    Rule("accounts:devices", "signed_in"),
    # one's own devices only: anyone else's device is not found
    Rule("accounts:revoke_device", "patient", method="post", args=lambda w: {"pk": w.device.pk}),
    Rule("accounts:sign_out_everywhere", "signed_in", method="post"),
    Rule("set_language", "public", method="post", data=lambda w: {"language": "hi"}),
    Rule("api-schema", "public"),
    Rule("api-docs", "public"),
    # browsers post policy violations here without cookies: anyone, rate-limited per address
    Rule("csp-report", "public", method="post", data=lambda w: {"csp-report": "{}"}),
    # probes: anyone; /metrics answers a loopback connection when no METRICS_TOKEN is set, as
    # here (the token and address rules: tests/observability/test_metrics.py)
    Rule("healthz", "public"),
    Rule("readyz", "public"),
    Rule("metrics", "public"),
    Rule("realtime:javascript-catalog", "public"),
    Rule("realtime:device-check", "signed_in"),
    # --- family profiles
    Rule("patients:family", "patients", **PATIENT_PAGE),
    Rule("patients:add", "patients", **PATIENT_PAGE),
    Rule("patients:edit", P, args=patient, audited=True, **PATIENT_PAGE),
    Rule("patients:choose", P, method="post", args=patient, **PATIENT_PAGE),
    Rule("patients-api:patient-list", "patients", **PATIENT_API),
    Rule(
        "patients-api:patient-detail",
        P,
        args=lambda w: {"pk": w.patient.pk},
        audited=True,
        **PATIENT_API,
    ),
    Rule("patient-documents-api:list", "care", args=patient, audited=True),
    Rule("patient-documents-api:file", "care", args=document, audited=True),
    # --- registry (public reference data)
    Rule("registry-api:states", "public"),
    Rule("registry-api:districts", "public", args=lambda w: {"code": w.state.code}),
    Rule("registry-api:specialties", "public"),
    # --- OPD pages, the patient's way
    Rule("opd:start", "patients", **PATIENT_PAGE),
    Rule(
        "opd:opd_list",
        P,
        data=lambda w: {"patient": w.patient.pk, "state": w.state.code},
        **PATIENT_PAGE,
    ),
    Rule("opd:opd_detail", P, args=opd, data=for_patient, **PATIENT_PAGE),
    Rule(
        "opd:take_token", P, method="post", audited=True, args=opd, data=for_patient, **PATIENT_PAGE
    ),
    Rule("opd:history", "patients", **PATIENT_PAGE),
    Rule("opd:upload", P, method="post", audited=True, args=patient, **PATIENT_PAGE),
    Rule("opd:document", "care", args=document, audited=True, anonymous="not_found"),
    Rule("opd:waiting_room", P, args=ticket, audited=True, **PATIENT_PAGE),
    Rule("opd:ticket_status", P, args=ticket, **PATIENT_PAGE),
    Rule("opd:cancel", P, method="post", audited=True, args=ticket, **PATIENT_PAGE),
    Rule("opd:join", P, method="post", audited=True, args=ticket, **PATIENT_PAGE),
    Rule("opd:rejoin", P, method="post", audited=True, args=ticket, **PATIENT_PAGE),
    Rule("opd:consultation", P, args=consultation, audited=True, **PATIENT_PAGE),
    Rule("opd:consultation_status", P, args=consultation, **PATIENT_PAGE),
    Rule(
        "opd:feedback",
        P,
        method="post",
        audited=True,
        args=consultation,
        data=lambda w: {"rating": 5},
        **PATIENT_PAGE,
    ),
    Rule("opd:follow_up", P, method="post", audited=True, args=consultation, **PATIENT_PAGE),
    # --- OPD pages, the doctor's way
    # ICD-10 terms are reference data for any clinician; no patient's data
    Rule("opd:icd10", "staff", data=lambda w: {"q": "fever"}, anonymous="not_found"),
    Rule("consultations-api:diagnoses", "staff", data=lambda w: {"q": "fever"}, wrong_role=403),
    Rule("opd:doctor_console", "doctors", **DOCTOR_PAGE),
    Rule("opd:doctor_queue", "doctors", **DOCTOR_PAGE),
    Rule(
        "opd:doctor_presence",
        "doctors",
        method="post",
        data=lambda w: {"action": "offline"},
        **DOCTOR_PAGE,
    ),
    Rule("opd:call_next", "doctors", method="post", **DOCTOR_PAGE),
    Rule("opd:doctor_consultation", D, args=consultation, audited=True, **DOCTOR_PAGE),
    Rule("opd:confirm_identity", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    Rule("opd:save_record", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    Rule("opd:prescribe", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    Rule("opd:end", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    Rule("opd:dropped", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    Rule("opd:hold", D, method="post", audited=True, args=consultation, **DOCTOR_PAGE),
    # --- OPD API
    Rule("opd-api:opd-list", "signed_in"),
    Rule("opd-api:opd-detail", "signed_in", args=opd),
    Rule(
        "opd-api:take-token",
        P,
        method="post",
        audited=True,
        args=opd,
        data=for_patient,
        **PATIENT_API,
    ),
    Rule("opd-api:opd-queue", "doctors", args=opd, outsider=403, **DOCTOR_API),
    Rule("opd-api:my-tickets", "patients", **PATIENT_API),
    # The app's status poll, as the waiting room's opd:ticket_status: the family reading
    # its own token is no record read.
    Rule("opd-api:ticket-detail", P, args=ticket, **PATIENT_API),
    Rule("opd-api:ticket-cancel", P, method="post", audited=True, args=ticket, **PATIENT_API),
    Rule("opd-api:ticket-join", P, method="post", audited=True, args=ticket, **PATIENT_API),
    Rule("opd-api:ticket-rejoin", P, method="post", audited=True, args=ticket, **PATIENT_API),
    Rule("opd-api:patient-history", P, args=patient, audited=True, **PATIENT_API),
    Rule("opd-api:consultation-detail", "care", args=consultation, audited=True),
    Rule(
        "opd-api:consultation-feedback",
        P,
        method="post",
        audited=True,
        args=consultation,
        data=lambda w: {"rating": 4},
        **PATIENT_API,
    ),
    Rule(
        "opd-api:consultation-follow-up",
        P,
        method="post",
        audited=True,
        args=consultation,
        **PATIENT_API,
    ),
    Rule("opd-api:consultation-earlier", D, args=consultation, audited=True, **DOCTOR_API),
    Rule(
        "opd-api:consultation-identity",
        D,
        method="post",
        audited=True,
        args=consultation,
        **DOCTOR_API,
    ),
    Rule(
        "opd-api:consultation-record",
        D,
        method="patch",
        audited=True,
        args=consultation,
        data=lambda w: {"advice": "Rest"},
        **DOCTOR_API,
    ),
    Rule("opd-api:consultation-mode", D, args=consultation, audited=True, **DOCTOR_API),
    Rule(
        "opd-api:consultation-hold", D, method="post", audited=True, args=consultation, **DOCTOR_API
    ),
    Rule(
        "opd-api:consultation-resume",
        D,
        method="post",
        audited=True,
        args=consultation,
        **DOCTOR_API,
    ),
    Rule(
        "opd-api:consultation-end", D, method="post", audited=True, args=consultation, **DOCTOR_API
    ),
    Rule(
        "opd-api:consultation-drop",
        D,
        method="post",
        audited=True,
        args=consultation,
        **DOCTOR_API,
    ),
    Rule("opd-api:doctor-presence", "doctors", **DOCTOR_API),
    Rule(
        "opd-api:doctor-online",
        "doctors",
        method="post",
        data=lambda w: {"opd": str(w.opd.pk)},
        outsider=403,
        **DOCTOR_API,
    ),
    Rule("opd-api:doctor-offline", "doctors", method="post", **DOCTOR_API),
    Rule("opd-api:doctor-break", "doctors", method="post", **DOCTOR_API),
    Rule("opd-api:doctor-queue", "doctors", outsider=403, **DOCTOR_API),
    Rule("opd-api:doctor-consultations", "doctors", **DOCTOR_API),
    Rule("opd-api:doctor-call-next", "doctors", method="post", **DOCTOR_API),
    # --- prescriptions
    Rule("prescriptions:public_key", "public"),
    Rule(
        "prescriptions:verify", "public", args=lambda w: {"code": w.prescription.verification_code}
    ),
    Rule("prescriptions:detail", "care", args=prescription, audited=True),
    Rule("prescriptions:pdf", "care", args=prescription, audited=True),
    Rule("prescriptions-api:medicines", "signed_in", data=lambda w: {"q": "para"}),
    Rule(
        "prescriptions-api:medicine-resolve",
        "doctors",
        data=lambda w: {"q": "Dolo 650"},
        **DOCTOR_API,
    ),
    Rule("prescriptions-api:list", "signed_in"),
    Rule(
        "prescriptions-api:verify",
        "public",
        args=lambda w: {"code": w.prescription.verification_code},
    ),
    Rule("prescriptions-api:detail", "care", args=prescription, audited=True),
    Rule("prescriptions-api:pdf", "care", args=prescription, audited=True),
    Rule("prescriptions-api:correct", D, method="post", audited=True, args=prescription),
    # --- the consultation room
    Rule("realtime:room", "care", args=consultation, audited=True),
    Rule("realtime-api:join-token", "care", args=consultation),
    Rule("realtime-api:room-messages", "care", args=consultation, audited=True),
    Rule(
        "realtime-api:room-files",
        "care",
        method="post",
        audited=True,
        args=consultation,
        multipart=True,
        data=lambda w: {"file": pdf_upload()},
    ),
    Rule(
        "realtime-api:room-file",
        "care",
        audited=True,
        args=lambda w: {"consultation_id": w.consultation.pk, "message_id": w.message.pk},
    ),
    Rule("realtime-api:room-participants", "care", args=consultation),
    Rule("realtime-api:probe", "signed_in"),
    # --- signing in through the API
    Rule("accounts-api:otp_request", "public", method="post"),
    Rule("accounts-api:otp_verify", "public", method="post"),
    Rule("accounts-api:staff_token", "public", method="post"),
    Rule("accounts-api:me", "signed_in"),
    Rule("accounts-api:logout", "signed_in", method="post"),
    Rule("accounts-api:logout_everywhere", "signed_in", method="post"),
    Rule("accounts-api:devices", "signed_in"),
    Rule("accounts-api:device", "patient", method="delete", args=lambda w: {"pk": w.device.pk}),
]

#: The doctor's workspace, mounted by both service lines, answers as the OPD routes it
#: took over (which stay as aliases for one release).
WORKSPACE_ALIASES = {
    "workspace:console": "opd:doctor_console",
    "workspace:queue": "opd:doctor_queue",
    "workspace:presence": "opd:doctor_presence",
    "workspace:call_next": "opd:call_next",
    "workspace:icd10": "opd:icd10",
    "workspace:consultation": "opd:doctor_consultation",
    "workspace:confirm_identity": "opd:confirm_identity",
    "workspace:save_record": "opd:save_record",
    "workspace:prescribe": "opd:prescribe",
    "workspace:end": "opd:end",
    "workspace:dropped": "opd:dropped",
    "workspace:hold": "opd:hold",
    **{
        f"workspace-api:{name}": f"opd-api:{name}"
        for name in (
            "consultation-detail",
            "consultation-drop",
            "consultation-earlier",
            "consultation-end",
            "consultation-hold",
            "consultation-identity",
            "consultation-mode",
            "consultation-record",
            "consultation-resume",
            "doctor-break",
            "doctor-call-next",
            "doctor-consultations",
            "doctor-offline",
            "doctor-online",
            "doctor-presence",
            "doctor-queue",
        )
    },
}
_OPD = {rule.name: rule for rule in RULES}
RULES += [replace(_OPD[old], name=new) for new, old in WORKSPACE_ALIASES.items()]

BY_NAME = {rule.name: rule for rule in RULES}
assert len(BY_NAME) == len(RULES), "a route is declared twice"
