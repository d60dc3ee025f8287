"""Which channels deliver requests to the clinic: the webhook, e-mail, both, or none.

Built from :class:`clinic_requests.config.DeliverySettings`; used by the action server's delivery
worker (:mod:`clinic_requests.submit`) and by ``scripts/requests_cli.py deliver-now``.
"""

from typing import List

from clinic_requests.config import DeliverySettings
from clinic_requests.delivery import Channel, WebhookDeliverer
from clinic_requests.email_delivery import EmailDeliverer


def delivery_channels(settings: DeliverySettings) -> List[Channel]:
    """The configured channels, webhook first; empty when requests stay pending for staff."""
    channels: List[Channel] = []
    webhook = WebhookDeliverer.from_settings(settings)
    if webhook is not None:
        channels.append(webhook)
    if settings.email is not None:
        channels.append(EmailDeliverer(settings.email))
    return channels
