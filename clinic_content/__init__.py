"""The staff-editable files in ``data/content/``: one module per file, its model and its loader.

Every reader of a content file -- the action server (``actions``), the NLU components
(``clinic_nlu``), the website channel (``clinic_channel``), the request e-mail and the staff page
(``clinic_requests``, ``clinic_staff``) and `make check` (``scripts/check.py``) -- reads it
through the module named after it here, so they all accept and refuse the same versions:

- ``answers`` (``answers.yml``), ``messages``, ``contact``, ``booking``, ``contraindications``
  (with its checks in ``contraindication_checks``), ``answerability``, ``email``;
- ``store``: all of them but ``email.yml`` as one ``Content``, checked together (answers name
  intents and contraindications), reloaded when a file changes;
- shared: ``paths`` (where the files are), ``errors`` (``file:line: problem``), ``fields``
  (field specs, links, required keys), ``yaml_lines`` (YAML with line numbers), and the
  placeholders every message may use (``placeholder_names``), fill (``placeholders``) and
  must not misuse (``placeholder_check``).

PyYAML, the standard library and ``clinic_common`` only: no Rasa, no spaCy.
"""
