# ruff: noqa: E501  (a table reads best one row per line)
"""The chief-complaint pick-list a health worker chooses from (plus free text), and the
rule table's default lines. Codes are stable: rules and records refer to them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

COMPLAINTS: dict[str, object] = {
    "fever": _("Fever"),
    "cough": _("Cough"),
    "breathlessness": _("Breathlessness"),
    "chest_pain": _("Chest pain"),
    "palpitations": _("Palpitations"),
    "abdominal_pain": _("Abdominal pain"),
    "diarrhoea": _("Loose stools / diarrhoea"),
    "vomiting": _("Vomiting"),
    "headache": _("Headache"),
    "dizziness": _("Dizziness / fainting"),
    "weakness": _("Weakness / tiredness"),
    "skin_rash": _("Skin rash / itching"),
    "skin_lesion": _("Skin patch, wound or ulcer"),
    "joint_pain": _("Joint or back pain"),
    "injury": _("Injury / fracture"),
    "eye_problem": _("Eye problem"),
    "ear_throat": _("Ear, nose or throat problem"),
    "toothache": _("Tooth or gum problem"),
    "pregnancy": _("Pregnancy check-up or problem"),
    "menstrual": _("Menstrual or vaginal problem"),
    "child_unwell": _("Child not feeding / unwell"),
    "high_bp": _("High blood pressure follow-up"),
    "diabetes": _("Diabetes follow-up"),
    "urinary": _("Urinary problem"),
    "low_mood": _("Low mood, anxiety, sleep problem"),
    "seizure": _("Fits / seizure"),
}

#: (complaint or "", vital, comparison, threshold, min age, max age, specialty code,
#: weight, reason): the table the platform ships with; administrators edit it in the admin.
DEFAULT_RULES: tuple[tuple, ...] = (
    ("fever", "", "", None, None, None, "general-medicine", 1, "Fever: general medicine first"),
    ("cough", "", "", None, None, None, "general-medicine", 1, "Cough: general medicine first"),
    ("breathlessness", "", "", None, None, None, "pulmonary-medicine", 2, "Breathlessness"),
    ("", "spo2", "below", 94, None, None, "pulmonary-medicine", 2, "SpO₂ below 94%"),
    ("chest_pain", "", "", None, None, None, "cardiology", 3, "Chest pain: rule out heart disease"),
    ("palpitations", "", "", None, None, None, "cardiology", 2, "Palpitations"),
    ("high_bp", "", "", None, None, None, "general-medicine", 2, "Hypertension follow-up"),
    ("", "bp_systolic", "above", 159, None, None, "cardiology", 1, "Systolic pressure 160 or more"),
    ("diabetes", "", "", None, None, None, "endocrinology", 1, "Diabetes follow-up"),
    ("diabetes", "", "", None, None, None, "general-medicine", 1, "Diabetes: general medicine can manage"),
    ("", "glucose_mg_dl", "above", 250, None, None, "endocrinology", 2, "Blood glucose above 250 mg/dL"),
    ("abdominal_pain", "", "", None, None, None, "general-medicine", 1, "Abdominal pain"),
    ("diarrhoea", "", "", None, None, None, "general-medicine", 1, "Diarrhoea"),
    ("vomiting", "", "", None, None, None, "general-medicine", 1, "Vomiting"),
    ("headache", "", "", None, None, None, "general-medicine", 1, "Headache"),
    ("seizure", "", "", None, None, None, "neurology", 3, "Fits need a neurologist's view"),
    ("dizziness", "", "", None, None, None, "general-medicine", 1, "Dizziness"),
    ("weakness", "", "", None, None, None, "general-medicine", 1, "Weakness"),
    ("skin_rash", "", "", None, None, None, "dermatology", 3, "Skin complaint: photo to dermatology"),
    ("skin_lesion", "", "", None, None, None, "dermatology", 3, "Skin lesion: photo to dermatology"),
    ("joint_pain", "", "", None, None, None, "orthopaedics", 2, "Joint or back pain"),
    ("injury", "", "", None, None, None, "orthopaedics", 3, "Injury or fracture"),
    ("eye_problem", "", "", None, None, None, "ophthalmology", 3, "Eye complaint"),
    ("ear_throat", "", "", None, None, None, "ent", 3, "Ear, nose or throat complaint"),
    ("toothache", "", "", None, None, None, "dentistry", 3, "Dental complaint"),
    ("pregnancy", "", "", None, None, None, "obg", 4, "Pregnancy: obstetrics"),
    ("menstrual", "", "", None, None, None, "obg", 3, "Gynaecological complaint"),
    ("child_unwell", "", "", None, None, None, "paediatrics", 4, "A sick child: paediatrics"),
    ("fever", "", "", None, None, 12, "paediatrics", 3, "Fever in a child of 12 or under"),
    ("cough", "", "", None, None, 12, "paediatrics", 3, "Cough in a child of 12 or under"),
    ("diarrhoea", "", "", None, None, 12, "paediatrics", 3, "Diarrhoea in a child of 12 or under"),
    ("urinary", "", "", None, None, None, "general-medicine", 1, "Urinary complaint"),
    ("low_mood", "", "", None, None, None, "psychiatry", 3, "Mental health: psychiatry (Tele-MANAS)"),
)  # fmt: skip
