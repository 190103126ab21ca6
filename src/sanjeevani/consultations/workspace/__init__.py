"""The clinician's workspace: the doctor's console and queue, the consultation page with its
record editor, and ``/api/v1/consultations/``.

A service line mounts it with a :class:`~sanjeevani.consultations.workspace.mount.Mount`
naming its line and the queues its doctors serve, so nothing here assumes the OPD.
"""
