"""Live events: channel-layer group names and publishing after commit.

Not an app and imports none: the services (``queueing``, ``consultations``, ``realtime``)
publish through it and the consumers in ``realtime`` listen on the same names, so no app has
to import another to talk over the channel layer.
"""
