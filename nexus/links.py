"""Absolute links people are shown: QR codes, "vote at …", invite links.

They start with settings.NEXUS_PUBLIC_URL, never with a request's Host
header, which a client chooses (`Host: evil.example` would otherwise be
printed on the projector). Only in development without NEXUS_PUBLIC_URL
is the request's own address used.
"""

from django.conf import settings
from django.http import HttpRequest


def absolute(request: HttpRequest, path: str) -> str:
    if settings.NEXUS_PUBLIC_URL:
        return settings.NEXUS_PUBLIC_URL + path
    return request.build_absolute_uri(path)
