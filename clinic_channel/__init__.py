"""Rasa input channels of the clinic assistant.

``clinic_channel.website.WebsiteInput`` is the website chat: enable it in
``credentials.yml`` under the key ``clinic_channel.website.WebsiteInput:``.
"""
