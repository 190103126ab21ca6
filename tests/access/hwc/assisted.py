"""Access rules of the assisted routes (see the package docstring).

``operator``: any signed-in operator's own page (their desk, their list: it shows only their
own patients). ``assisting operator``: only the operator who registered the patient or took
the token; another operator gets 404. Every other role gets 403, the signed-out sign in."""

OPERATOR = "operator"
ASSISTING_OPERATOR = "assisting operator"

RULES: dict[str, str] = {
    "assisted:desk": OPERATOR,
    "assisted:register": OPERATOR,
    "assisted:patients": OPERATOR,
    "assisted-api:patients": OPERATOR,
    "assisted-api:patient": ASSISTING_OPERATOR,
    "opd:assisted_patient": ASSISTING_OPERATOR,
    "opd:assisted_opd_list": ASSISTING_OPERATOR,
    "opd:assisted_take_token": ASSISTING_OPERATOR,
    "opd:assisted_ticket": ASSISTING_OPERATOR,
    "opd:assisted_ticket_status": ASSISTING_OPERATOR,
    "opd:assisted_join": ASSISTING_OPERATOR,
    "opd:assisted_rejoin": ASSISTING_OPERATOR,
    "opd:assisted_cancel": ASSISTING_OPERATOR,
    "opd-api:assisted-take-token": ASSISTING_OPERATOR,
    "opd-api:assisted-ticket": ASSISTING_OPERATOR,
    "opd-api:assisted-join": ASSISTING_OPERATOR,
    "opd-api:assisted-rejoin": ASSISTING_OPERATOR,
    "opd-api:assisted-cancel": ASSISTING_OPERATOR,
}
