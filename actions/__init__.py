"""Custom actions of the clinic assistant (run by the Rasa SDK action server).

Modules by concern: ``content`` (loading the staff-editable YAML), ``answers`` (picking the
reply for a question), ``safety`` (contraindication replies and the reassurance guard),
``booking``/``handoff`` (forms), ``outbox``/``delivery`` (durable requests). The ``Action``
classes in ``actions_*.py`` stay thin and call into those.
"""
