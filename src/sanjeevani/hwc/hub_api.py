"""The hub's JSON API under /api/v1/hwc/hub/: the coordinator's live load and reassigning,
the referral inbox, and the hub doctor's case steps (what the centre sent, forward, refer,
follow-up). The doctor's workspace API is the workspace's own, mounted for the hub line at
/api/v1/hub/consultations/.

Thin like the pages (``hub_views``): a scoped selector (404 for anyone else's), one
service; a wrong role answers 403, a refused step 409 with its code, bad input 400.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations.models import Consultation
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.registry.models import Facility

from . import hub_selectors as selectors
from . import hub_serializers as sz
from . import hub_services
from . import services as hwc

app_name = "hub-api"


class IsHubCoordinator(permissions.BasePermission):
    message = gettext_lazy("This is for hub coordinators.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.HUB_COORDINATOR)


class IsDoctor(permissions.BasePermission):
    message = gettext_lazy("This is for doctors.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.DOCTOR)


class HubView(AnswersRefusals, APIView):
    pass


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- the coordinator -----------------------------------------------------------------------


class LoadView(HubView):
    permission_classes = [IsHubCoordinator]

    @extend_schema(
        summary="The hub's live load per specialty and its waiting cases",
        responses=sz.HubLoadSerializer,
    )
    def get(self, request):
        hub = selectors.coordinator_hub(request.user)
        load = selectors.hub_load(hub)
        record_event(
            request.user, "hwc.hub_load.view", obj=hub, detail={"waiting": load["waiting"]}
        )
        return Response(load, headers={"Cache-Control": "no-store"})


class ReassignView(HubView):
    permission_classes = [IsHubCoordinator]

    @extend_schema(
        summary="Move a case waiting at your hub to another specialty's queue",
        request=sz.HubReassignRequestSerializer,
        responses=sz.HubReassignedSerializer,
    )
    def post(self, request, case_id):
        hub = selectors.coordinator_hub(request.user)
        case = selectors.waiting_case_at(hub, case_id)
        data = _valid(sz.HubReassignRequestSerializer, request)
        specialty = selectors.hub_specialties(hub).filter(code=data["specialty"]).first()
        if specialty is None:
            raise serializers.ValidationError(
                {"specialty": [_("Choose a specialty this hub offers.")]}
            )
        case = hwc.reassign_case(request.user, case, specialty)
        return Response({"case": str(case.pk), "specialty": specialty.code, "route": case.route})


# --- referrals -------------------------------------------------------------------------------


class ReferralsView(HubView):
    permission_classes = [IsHubCoordinator]

    @extend_schema(
        summary="Referrals sent to your facility, unacknowledged first",
        operation_id="hub_referrals_list",
        responses=sz.HubReferralSerializer(many=True),
    )
    def get(self, request):
        facility = hwc.facility_of(request.user)
        found = list(selectors.referrals_to(facility)[:200])
        record_event(
            request.user, "hwc.referral_list.view", obj=facility, detail={"count": len(found)}
        )
        return Response([selectors.referral_data(r) for r in found])


class ReferralView(HubView):
    permission_classes = [IsHubCoordinator]

    @extend_schema(
        summary="One referral to your facility",
        operation_id="hub_referral_retrieve",
        responses=sz.HubReferralSerializer,
    )
    def get(self, request, referral_id):
        found = selectors.referral_for(request.user, referral_id)
        record_event(request.user, "hwc.referral.view", obj=found, patient_id=found.patient_id)
        return Response(selectors.referral_data(found))


class AcknowledgeView(HubView):
    permission_classes = [IsHubCoordinator]

    @extend_schema(
        summary="Acknowledge a referral: the referring hub sees it",
        request=sz.ReferralAcknowledgementSerializer,
        responses=sz.HubReferralSerializer,
    )
    def post(self, request, referral_id):
        found = selectors.referral_for(request.user, referral_id)
        data = _valid(sz.ReferralAcknowledgementSerializer, request)
        found = hwc.acknowledge_referral(request.user, found, data.get("note", ""))
        return Response(selectors.referral_data(found))


# --- the hub doctor's case steps -------------------------------------------------------------


class CaseStepView(HubView):
    permission_classes = [IsDoctor]

    def consultation(self, consultation_id) -> Consultation:
        return consultation_selectors.visible_consultation(
            self.request.user, consultation_id, Consultation.ServiceLine.HUB_SPOKE
        )


def case_data(consultation: Consultation) -> dict:
    case = selectors.case_of(consultation)
    return {
        "consultation": str(consultation.pk),
        "status": consultation.status,
        "outcome": consultation.outcome or "",
        "follow_up_on": consultation.follow_up_on.isoformat()
        if consultation.follow_up_on
        else None,
        "case": None
        if case is None
        else {
            "id": str(case.pk),
            "spoke": case.spoke.name,
            "mode": case.mode,
            "urgent": case.urgent,
            "danger_signs": case.urgent_reasons,
            "route": case.route,
            "route_label": selectors.route_label(case),
            "specialty": case.specialty.code,
            "complaints": selectors.complaint_labels(case),
            "complaint_text": case.complaint_text,
            "history": case.history,
            "vitals": case.vitals,
            "attachments": [
                {"id": str(a.pk), "kind": a.kind, "title": a.title, "content_type": a.content_type}
                for a in case.attachments.all()
            ],
        },
        "referrals": [selectors.referral_data(r) for r in selectors.referrals_of(consultation)],
    }


class CaseView(CaseStepView):
    @extend_schema(
        summary="What the centre sent with the case, and its referrals",
        responses=sz.HubCaseSerializer,
    )
    def get(self, request, consultation_id):
        found = consultation_selectors.consultation_for_user(
            request.user,
            consultation_id,
            request=request,
            service_line=Consultation.ServiceLine.HUB_SPOKE,
        )
        return Response(case_data(found))


class ForwardView(CaseStepView):
    @extend_schema(
        summary="Forward the case up a tier",
        request=sz.HubForwardRequestSerializer,
        responses=sz.HubCaseSerializer,
    )
    def post(self, request, consultation_id):
        found = self.consultation(consultation_id)
        data = _valid(sz.HubForwardRequestSerializer, request)
        to_hub = Facility.objects.filter(pk=data["to_hub"], is_hub=True).first()
        if to_hub is None:
            raise serializers.ValidationError({"to_hub": [_("Choose the hub to forward to.")]})
        hwc.forward_case(request.user, found, to_hub, data.get("note", ""))
        found.refresh_from_db()
        return Response(case_data(found))


class ReferView(CaseStepView):
    @extend_schema(
        summary="Refer the patient to a higher facility (and end as referred)",
        request=sz.HubReferralRequestSerializer,
        responses={201: sz.HubCaseSerializer},
    )
    def post(self, request, consultation_id):
        found = self.consultation(consultation_id)
        data = _valid(sz.HubReferralRequestSerializer, request)
        to = selectors.referral_destinations(found).filter(pk=data["to"]).first()
        if to is None:
            raise serializers.ValidationError({"to": [_("Choose the facility to refer to.")]})
        hub_services.refer_and_end(
            request.user, found, to, data["reason"], data["urgency"], end=data["end"]
        )
        found.refresh_from_db()
        return Response(case_data(found), status=201)


class FollowUpView(CaseStepView):
    @extend_schema(
        summary="Ask the spoke for a follow-up in N days",
        request=sz.HubFollowUpRequestSerializer,
        responses=sz.HubCaseSerializer,
    )
    def post(self, request, consultation_id):
        found = self.consultation(consultation_id)
        data = _valid(sz.HubFollowUpRequestSerializer, request)
        found = hub_services.ask_follow_up(request.user, found, data["days"])
        return Response(case_data(found))


urlpatterns = [
    path("load/", LoadView.as_view(), name="load"),
    path("cases/<uuid:case_id>/reassign/", ReassignView.as_view(), name="reassign"),
    path("referrals/", ReferralsView.as_view(), name="referrals"),
    path("referrals/<uuid:referral_id>/", ReferralView.as_view(), name="referral"),
    path(
        "referrals/<uuid:referral_id>/acknowledge/",
        AcknowledgeView.as_view(),
        name="referral-acknowledge",
    ),
    path("consultations/<uuid:consultation_id>/case/", CaseView.as_view(), name="case"),
    path("consultations/<uuid:consultation_id>/forward/", ForwardView.as_view(), name="forward"),
    path("consultations/<uuid:consultation_id>/refer/", ReferView.as_view(), name="refer"),
    path(
        "consultations/<uuid:consultation_id>/follow-up/",
        FollowUpView.as_view(),
        name="follow-up",
    ),
]
