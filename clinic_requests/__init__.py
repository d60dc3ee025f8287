"""Durable requests and stored questions: what the assistant keeps for the clinic's staff.

Not about the conversation (that is ``actions/``): the Rasa actions hand a finished request to
:func:`clinic_requests.submit.submit_request` and an unanswered question to
:func:`clinic_requests.unanswered.record`; everything after that is here, and the staff page
(``clinic_staff``), the scripts (``make requests``, ``make report``, ``make purge``) and the
scaled setup use the same modules.

- Settings and storage: ``config`` (operator settings from ``endpoints.yml`` + environment),
  ``database`` (SQLite or PostgreSQL through SQLAlchemy Core).
- Requests: ``payload`` (what a request carries), ``outbox`` (stored before anyone is told),
  ``outbox_schema`` (the outbox's table and rows), ``submit`` (the one call actions make),
  ``handled_requests`` (staff's "handled" mark), ``request_view`` (a request as people read it).
- Delivery: ``delivery`` (the worker and the webhook), ``email_settings``,
  ``email_message``, ``email_delivery`` (the e-mail channel; layouts in ``templates/``),
  ``channels`` (which channels are configured), ``channel_log`` (which channel has which
  request).
- Stored questions: ``unanswered`` (the records), ``unanswered_groups`` (similar wordings
  together, for the report and the staff page).
- Housekeeping: ``retention`` (the purge, ``make purge`` and daily).
- Running: ``background`` (this process's outbox, delivery worker and daily purge) and
  ``action_server`` (``python -m clinic_requests.action_server``: Rasa SDK's action server,
  which starts them when it starts and stops them after it stopped).

Words people read are staff-editable content under ``data/content/``: the e-mail's words and
labels (``email.yml``, :mod:`clinic_content.email`) and the clinic's contact and condition labels
(``request_view``) are read with the loaders of ``clinic_content``, the same ones the actions
use (and rendered with ``clinic_content.placeholders``); nothing is taken from ``actions``.
"""
