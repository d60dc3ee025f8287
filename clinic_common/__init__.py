"""Small helpers shared by the action server, the NLU components and the website channel.

This package imports only the standard library and nothing else of ours, so any of
``actions``, ``clinic_nlu``, ``clinic_channel`` or ``clinic_staff`` can use it without
depending on one another or risking an import cycle.
"""
