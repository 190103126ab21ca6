"""API shapes for medicines and prescriptions."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from sanjeevani.config.model_serializers import ModelSerializer

from .models import Medicine, Prescription, PrescriptionItem
from .services import MAX_ITEMS


class MedicineSerializer(ModelSerializer):
    tpg_list_label = serializers.CharField(source="get_tpg_list_display", read_only=True)

    class Meta:
        model = Medicine
        fields = [
            "id",
            "generic_name",
            "form",
            "strength",
            "tpg_list",
            "tpg_list_label",
            "category",
        ]


class ItemInputSerializer(serializers.Serializer):
    medicine = serializers.UUIDField(
        required=False, allow_null=True, help_text="A catalogue medicine; omit for free entry."
    )
    generic_name = serializers.CharField(
        required=False, allow_blank=True, max_length=120, help_text="For free entry."
    )
    form = serializers.CharField(required=False, allow_blank=True, max_length=60)
    strength = serializers.CharField(required=False, allow_blank=True, max_length=80)
    dose = serializers.CharField(required=False, allow_blank=True, max_length=80)
    frequency = serializers.CharField(required=False, allow_blank=True, max_length=80)
    route = serializers.CharField(required=False, allow_blank=True, max_length=40)
    duration = serializers.CharField(required=False, allow_blank=True, max_length=60)
    quantity = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=60,
        help_text="How much to dispense, e.g. '10 tablets', '1 bottle of 60 mL'. Required.",
    )
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=300)


class PrescriptionWriteSerializer(serializers.Serializer):
    items = ItemInputSerializer(many=True, max_length=MAX_ITEMS)
    investigations = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default=None,
        help_text="Omit to use the consultation record's.",
    )
    advice = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default=None,
        help_text="Omit to use the consultation record's.",
    )
    follow_up_on = serializers.DateField(required=False, allow_null=True, default=None)
    language = serializers.ChoiceField(
        choices=Prescription.Language.choices, required=False, allow_null=True, default=None
    )
    provisional_diagnosis = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Mark the consultation's diagnoses as provisional on this prescription.",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4096,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The doctor's password, re-confirmed at signing (or give totp).",
    )
    totp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=12,
        write_only=True,
        help_text="The current code from the doctor's authenticator app (or give password).",
    )
    client_key = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A key the app makes once per signing form. Send the same form again "
        "(after a lost answer) with the same key and the prescription already signed is "
        "returned: never a second one.",
    )


class PrescriptionCreateSerializer(PrescriptionWriteSerializer):
    consultation = serializers.UUIDField()


class PrescriptionItemSerializer(ModelSerializer):
    class Meta:
        model = PrescriptionItem
        fields = [
            "medicine",
            "generic_name",
            "form",
            "strength",
            "dose",
            "frequency",
            "route",
            "duration",
            "quantity",
            "instructions",
            "tpg_list",
        ]


class PrescriptionSerializer(ModelSerializer):
    items = PrescriptionItemSerializer(many=True, read_only=True)
    pdf_url = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()
    superseded_by = serializers.SerializerMethodField()

    class Meta:
        model = Prescription
        fields = [
            "id",
            "status",
            "issued_at",
            "language",
            "consultation",
            "patient",
            "supersedes",
            "superseded_by",
            "verification_code",
            "verification_url",
            "pdf_url",
            "key_id",
            "signature",
            "doctor_key_id",
            "doctor_signature",
            "content",
            "items",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_pdf_url(self, obj: Prescription) -> str:
        return self._absolute(reverse("prescriptions:pdf", args=[obj.pk]))

    def get_verification_url(self, obj: Prescription) -> str:
        return self._absolute(reverse("prescriptions:verify", args=[obj.verification_code]))

    def get_superseded_by(self, obj: Prescription) -> str | None:
        newer = getattr(obj, "superseded_by", None)
        return str(newer.pk) if newer else None


class PublicMedicineSerializer(serializers.Serializer):
    generic_name = serializers.CharField()
    form = serializers.CharField()
    strength = serializers.CharField()
    dose = serializers.CharField()
    frequency = serializers.CharField()
    route = serializers.CharField()
    duration = serializers.CharField()
    quantity = serializers.CharField()


class PublicDoctorSerializer(serializers.Serializer):
    name = serializers.CharField()
    registration_number = serializers.CharField()
    council = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class PublicPatientSerializer(serializers.Serializer):
    initials = serializers.CharField()
    age_years = serializers.IntegerField()
    sex = serializers.CharField()


class PublicSummarySerializer(serializers.Serializer):
    issued_at = serializers.CharField()
    doctor = PublicDoctorSerializer()
    patient = PublicPatientSerializer()
    medicines = PublicMedicineSerializer(many=True)


class SignatureCheckSerializer(serializers.Serializer):
    key_id = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["valid", "invalid", "absent"],
        help_text="absent: issued before doctors signed with their own key.",
    )


class SignaturesSerializer(serializers.Serializer):
    platform = SignatureCheckSerializer()
    doctor = SignatureCheckSerializer()


class VerificationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["genuine", "superseded", "altered", "not_found"])
    summary = PublicSummarySerializer(allow_null=True)
    signatures = SignaturesSerializer(allow_null=True)
