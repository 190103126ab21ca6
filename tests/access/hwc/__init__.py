"""The hub-and-spoke routes' access rules, walked against a hub-and-spoke world of their
own (``tests/hwc/factories.build_network``): the centre's pages (``centre``), the hub's
(``hub``) and assisted registration's (``assisted``). Each module declares ``RULES``, a
mapping of route name to who it serves, and walks every role against it."""

from __future__ import annotations

from . import assisted, centre, hub

#: Every hub-and-spoke route with its declared audience; ``test_route_matrix`` counts
#: these as declared.
HWC_RULES: dict[str, str] = {**centre.RULES, **hub.RULES, **assisted.RULES}
