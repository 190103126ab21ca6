"""What the queue announces to the layers above it, inside the transaction of the change.

The queue knows nothing of consultations. The consultation services listen (connected in
``ConsultationsConfig.ready``) and do their part in the same transaction, so a ticket and
the consultation opened for it never disagree.
"""

from django.dispatch import Signal

#: A called ticket left its call without the doctor ending it: the call window passed
#: (``reason="missed"``) or the patient cancelled (``reason="cancelled"``).
#: Arguments: ``ticket``, ``reason``, ``now``.
call_abandoned = Signal()

#: Waiting patients may meet a doctor who asked to be assigned automatically: a token was
#: taken or rejoined (``doctor`` is None: any free doctor of the OPD), or ``doctor`` came
#: online with auto-assign. Arguments: ``opd``, ``doctor``, ``actor``, ``now``.
assignment_possible = Signal()
