"""Access rules of the hub routes (see the package docstring).

- ``coordinators``: a hub coordinator, about the hub they are posted at (the desk, its
  waiting cases) or referrals addressed to it; another hub's coordinator gets their own
  hub's figures on the list routes and 404 on this hub's case or referral.
- ``hub doctors``: a doctor, about a hub-and-spoke consultation in their care; a doctor of
  another hub gets 404 on it (their own console, queue and presence are theirs).
- ``case's care``: whoever the care-team policy lets read the case (its hub doctor, the
  centre's CHO, the patient's own family account); anyone else 404.
- ``staff``: any signed-in staff member (the ICD-10 search).

Every other role gets 403; the signed-out are sent to sign in (pages) or refused (API).
Walked by ``test_hub_routes.py``."""

from sanjeevani.consultations.workspace.api import ROUTES as WORKSPACE_API
from sanjeevani.consultations.workspace.urls import PAGES as WORKSPACE_PAGES

#: The workspace routes whose answer is about one consultation.
CONSULTATION_SCOPED = {
    name for route, _view, name in [*WORKSPACE_PAGES, *WORKSPACE_API] if "consultation_id" in route
}

RULES: dict[str, str] = {
    "hub:desk": "coordinators",
    "hub:desk_load": "coordinators",
    "hub:reassign": "coordinators",
    "hub:referrals": "coordinators",
    "hub:referral": "coordinators",
    "hub:acknowledge": "coordinators",
    "hub:forward": "hub doctors",
    "hub:refer": "hub doctors",
    "hub:follow_up": "hub doctors",
    "hub:attachment": "case's care",
    "hub-api:load": "coordinators",
    "hub-api:reassign": "coordinators",
    "hub-api:referrals": "coordinators",
    "hub-api:referral": "coordinators",
    "hub-api:referral-acknowledge": "coordinators",
    "hub-api:case": "hub doctors",
    "hub-api:forward": "hub doctors",
    "hub-api:refer": "hub doctors",
    "hub-api:follow-up": "hub doctors",
    **{f"hub-workspace:{name}": "hub doctors" for _r, _v, name in WORKSPACE_PAGES},
    "hub-workspace:icd10": "staff",
    **{f"hub-workspace-api:{name}": "hub doctors" for _r, _v, name in WORKSPACE_API},
    "hub-workspace-api:consultation-detail": "case's care",
}
