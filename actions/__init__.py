"""Custom actions of the clinic assistant (run by the Rasa SDK action server).

Modules by concern (the staff-editable YAML is loaded by ``clinic_content``): ``answers`` (picking
the reply for a question), ``respond`` (what to say), ``safety`` (contraindication replies and the
reassurance guard), ``booking``/``form_reading`` (the forms' details). The ``Action`` classes
(``actions_answer``, ``form_questions``, ``form_endings``, ``forms``) stay thin and call into
those. A finished request or an unanswered question is handed to ``clinic_requests``, which
stores, delivers and purges it.
"""
