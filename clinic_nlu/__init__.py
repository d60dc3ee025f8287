"""Clinic NLU: spaCy rules and Rasa components for the clinic's chat assistant."""
