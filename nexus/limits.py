"""Bad input, refused at the door (contract: "Limits and bad input").

Every malformed request gets the contract's JSON error at a 4xx:

- A body over `NEXUS_MAX_BODY_BYTES` (1 MiB) answers 413 `too_large`, on
  every path. `LimitsMiddleware` reads Content-Length before anything reads
  the body; under ASGI, `ASGIBodyLimit` also counts a body sent without one
  (Django's ASGI handler would spool any size to disk before a view runs).
- A query string with a control character answers 400 `invalid`.
- JSON (REST's parser and the GraphQL view both use `loads`) nested deeper
  than MAX_DEPTH, or holding a control character other than tab, newline
  and carriage return in any string or key, answers 400 `invalid`. Python's
  own parser would raise RecursionError (a 500) near a depth of 1,000, and
  Postgres refuses NUL in text (another 500).
"""

import json
import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.parsers import BaseParser

from .errors import ApplicationError, Invalid, error_body

MAX_DEPTH = 32
# Control characters: C0 but tab, newline and carriage return (text may span
# lines), DEL and C1. A query parameter may hold none of them.
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
QUERY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TooLarge(ApplicationError):
    status, code = 413, "too_large"

    def __init__(self) -> None:
        limit = settings.NEXUS_MAX_BODY_BYTES
        text = gettext("The request body is over the limit of %(limit)s bytes.")
        super().__init__(text % {"limit": f"{limit:,}"})


def too_large_response() -> JsonResponse:
    exc = TooLarge()
    return JsonResponse(error_body(exc.code, exc.detail), status=exc.status)


def invalid_response(detail: str) -> JsonResponse:
    return JsonResponse(error_body("invalid", detail), status=400)


def _too_deep() -> str:
    return gettext("JSON may nest at most %(depth)d levels deep.") % {"depth": MAX_DEPTH}


def loads(data: str | bytes):
    """JSON within the limits above, or Invalid / TooLarge."""
    if len(data) > settings.NEXUS_MAX_BODY_BYTES:
        raise TooLarge()
    try:
        value = json.loads(data)
    except RecursionError:
        raise Invalid(_too_deep()) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise Invalid(gettext("JSON parse error - %(error)s") % {"error": exc}) from None
    checked(value)
    return value


def checked(value) -> None:
    """Walk a parsed JSON value (without recursion) for depth and text. A bad
    text is named by its top-level field, as a serializer would name it."""
    stack: list[tuple[object, int, str]] = [(value, 1, "non_field_errors")]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            if TEXT_CONTROL.search(item):
                message = gettext("May not contain NUL or other control characters.")
                raise Invalid(
                    gettext("Text may not contain NUL or other control characters."),
                    fields={field: message},
                )
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise Invalid(_too_deep())
            if isinstance(item, dict):
                for key, child in item.items():
                    name = key if depth == 1 and not TEXT_CONTROL.search(key) else field
                    stack.append((key, depth, field))
                    stack.append((child, depth + 1, name))
            else:
                stack.extend((child, depth + 1, field) for child in item)


class JSONParser(BaseParser):
    """DRF's JSON parser, within the limits above (DRF's own reads any size
    and lets Python's recursion limit decide the depth)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(settings.NEXUS_MAX_BODY_BYTES + 1)
        return loads(data)


class LimitsMiddleware:
    """Early in the chain: the body's declared size and the query string."""

    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        refused = self.refused(request)
        if refused is not None:
            # Ahead of LocaleMiddleware: a refusal (rare) is said again in the
            # request's language; the vote's hot path pays nothing for it.
            with translation.override(translation.get_language_from_request(request)):
                refused = self.refused(request)
        if iscoroutinefunction(self):
            return self._acall(request, refused)
        return refused or self.get_response(request)

    async def _acall(self, request, refused):
        return refused or await self.get_response(request)

    @staticmethod
    def refused(request) -> JsonResponse | None:
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                too_big = int(length) > settings.NEXUS_MAX_BODY_BYTES
            except ValueError:
                return invalid_response(gettext("Content-Length is not a number."))
            if too_big:
                return too_large_response()
        if request.META.get("QUERY_STRING") and any(
            QUERY_CONTROL.search(key) or QUERY_CONTROL.search(value)
            for key, values in request.GET.lists()
            for value in values
        ):
            return invalid_response(gettext("Query parameters may not contain control characters."))
        return None


class ASGIBodyLimit:
    """Under ASGI, a body is counted as it arrives: past the limit the app is
    told the client left (Django stops reading and answers nothing), and
    this answers 413 in its place."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, received, over = settings.NEXUS_MAX_BODY_BYTES, 0, False
        started = False

        async def counted_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if over and not started:
            response = too_large_response()
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(response.content)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": response.content})
