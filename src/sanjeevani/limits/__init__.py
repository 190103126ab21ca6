"""Rate limits for every action that costs money (an SMS) or writes, shared by pages, the
API and the room's WebSocket.

Not an app and imports no app but ``audit`` (for the client's address): ``opd``,
``patients``, ``realtime`` and the rest put it in front of their actions, as they use
``live`` to publish. The limits are declared as data in ``rates.py`` (a name, a rate per
user and a rate per client address), counted in the Django cache (Redis in production:
one atomic ``INCR`` per counter) and overridable by the ``RATE_LIMITS`` setting.

- ``rates.check(scope, user=..., address=...)`` counts one attempt and says whether it
  is refused and for how long (``Refusal.retry_after``).
- ``drf.ScopedLimit`` is the DRF throttle (429 + ``Retry-After`` in the API's error shape);
  ``drf.add_429_to_limited_operations`` declares the 429 in the OpenAPI schema.
- ``pages.rate_limited(scope)`` decorates a page view (a friendly 429 page, or JSON for
  the page scripts' ``fetch`` calls).
"""
