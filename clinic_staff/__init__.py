"""The staff page: requests, unanswered questions, content checks and figures, behind a login.

A small Sanic server of its own (``python -m clinic_staff``, ``make staff``), on 127.0.0.1 by
default. It reads the same stores as the action server (the outbox, the unanswered questions,
Rasa's tracker store) and changes only staff marks and retries. See docs/staff-guide.md.
"""
