"""Access rules of the centre routes (see the package docstring).

``chos``: a Community Health Officer posted at an active spoke, about that centre's own
patients and cases. Another centre's CHO gets 404 on this centre's patient and case routes
(and their own centre's lists on the list routes); every other role gets 403 (the styled
"not your page" on pages, DRF's 403 in the API); the signed-out are sent to sign in (pages)
or refused (API). Walked by ``test_centre_routes.py``."""

RULES: dict[str, str] = {
    "centre:workspace": "chos",
    "centre:status": "chos",
    "centre:find": "chos",
    "centre:register": "chos",
    "centre:patient": "chos",
    "centre:case_new": "chos",
    "centre:suggest": "chos",
    "centre:case": "chos",
    "centre:attach": "chos",
    "centre:attachment": "chos",
    "centre:join": "chos",
    "centre:thermal": "chos",
    "centre:dispense": "chos",
    "centre:stock": "chos",
    "centre-api:patients": "chos",
    "centre-api:patient": "chos",
    "centre-api:suggestion": "chos",
    "centre-api:cases": "chos",
    "centre-api:case": "chos",
    "centre-api:case-status": "chos",
    "centre-api:attachments": "chos",
    "centre-api:join": "chos",
    "centre-api:dispense": "chos",
    "centre-api:stock": "chos",
}
