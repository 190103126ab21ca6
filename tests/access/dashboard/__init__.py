"""The dashboard routes' access rules, walked against a world of their own: a state with a
hub, its administrators and coordinators, and another state's (``test_dashboard_routes``).
``routes.RULES`` maps each route name to its audience."""

from __future__ import annotations

from .routes import RULES

#: Every dashboard route with its declared audience; ``test_route_matrix`` counts these as
#: declared.
DASHBOARD_RULES: dict[str, str] = dict(RULES)
