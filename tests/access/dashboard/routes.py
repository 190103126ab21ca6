"""Access rules of the dashboard routes.

- ``public``: everyone, signed in or not (the national figures, their live figures and the
  national tables' CSV).
- ``state``: national administrators and the state's own administrator; an administrator
  of another state gets 404.
- ``hub``: the hub's coordinator and the administrators of its state (and national ones);
  another hub's coordinator or another state's administrator gets 404.
- ``national``: national administrators only (the whole country's operational tables).

Any other role gets 403 (the page says whose it is); the signed-out are sent to sign in,
except on the live figures (JSON for a script), which answer 403. Walked by
``test_dashboard_routes.py``, with each scope a route takes (``CASES``)."""

from __future__ import annotations

RULES: dict[str, str] = {
    "dashboard:national": "public",
    "dashboard:state": "state",
    "dashboard:state_spokes": "state",
    "dashboard:report": "state",
    "dashboard:hub": "hub",
    "dashboard:live": "public",
    "dashboard:export": "public",
}
