"""Where the content files are, and their names."""

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(os.environ.get("CLINIC_CONTENT_DIR", PROJECT_DIR / "data" / "content"))
DOMAIN_FILE = PROJECT_DIR / "domain.yml"

ANSWERS_FILE = "answers.yml"
CONTACT_FILE = "contact.yml"
MESSAGES_FILE = "messages.yml"
CONTRAINDICATIONS_FILE = "contraindications.yml"
BOOKING_FILE = "booking.yml"
ANSWERABILITY_FILE = "answerability.yml"
EMAIL_FILE = "email.yml"
