"""The one error format: {"code", "detail", "fields"?} at the right status.

Domain code raises ApplicationError subclasses (no DRF imports needed); the
DRF exception handler and Django's 404/500 handlers all answer through
`error_body`, so every API error looks the same.

`code` is the contract and never translated; `detail` and `fields` are in the
request's language. Class details are lazy: an error raised where no request's
language is active (the vote pipeline's committer thread) still becomes text
in the language of the request it answers, when `error_body` renders it.
"""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .outage import DATABASE, database_unavailable

logger = logging.getLogger("nexus.errors")

Text = str | Promise  # a lazy text becomes the request's language when rendered


class ApplicationError(Exception):
    status = 400
    code = "invalid"
    detail: Text = gettext_lazy("The request is invalid.")

    def __init__(self, detail: Text | None = None, *, fields: dict | None = None):
        self.detail = detail or self.detail
        self.fields = fields
        super().__init__(self.detail)


class NotFound(ApplicationError):
    status, code, detail = 404, "not_found", gettext_lazy("Not found.")


class Forbidden(ApplicationError):
    status, code, detail = 403, "forbidden", gettext_lazy("You may not do this.")


class NotAuthenticated(ApplicationError):
    status, code = 401, "not_authenticated"
    detail = gettext_lazy("Authentication credentials were not provided.")


class Invalid(ApplicationError):
    status, code, detail = 400, "invalid", gettext_lazy("The request is invalid.")


def error_body(code: str, detail: Text, fields: dict | None = None) -> dict:
    """Lazy texts become text here, in the active (the request's) language;
    a plain English text that the catalog holds is looked up here too."""
    body: dict = {"code": code, "detail": _said(detail)}
    if fields:
        body["fields"] = {key: _said(value) for key, value in fields.items()}
    return body


def _said(text: Text) -> str:
    return gettext(text) if type(text) is str and text else str(text)


def _flatten(detail) -> dict[str, str]:
    """DRF ValidationError detail -> {"field": "one sentence or several"}."""
    if isinstance(detail, dict):
        return {key: _message(value) for key, value in detail.items()}
    return {"non_field_errors": _message(detail)}


def _message(value) -> str:
    if isinstance(value, dict):  # a list field's {index: errors}, or a nested object
        return " ".join(f"{_label(key)}: {_message(item)}" for key, item in value.items())
    if isinstance(value, list):
        if any(isinstance(item, dict) for item in value):  # many=True: one entry per item
            return " ".join(f"{_item(i)}: {_message(item)}" for i, item in enumerate(value) if item)
        return " ".join(_message(item) for item in value)
    return str(value)


def _label(key) -> str:
    return _item(int(key)) if str(key).isdigit() else str(key)


def _item(index: int) -> str:
    return gettext("Item %(number)d") % {"number": index + 1}


_DRF_CODES: list[tuple[type[drf.APIException], str]] = [
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "forbidden"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "throttled"),
    (drf.ParseError, "invalid"),
]


def _from_drf(exc: drf.APIException) -> Response:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    if isinstance(exc, drf.ValidationError):
        body = error_body("invalid", gettext("Some fields are invalid."), _flatten(exc.detail))
    else:
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
        body = error_body(code, exc.detail if isinstance(exc.detail, str) else str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def exception_handler(exc, context) -> Response:
    """REST_FRAMEWORK['EXCEPTION_HANDLER']: every error in the contract's shape."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", NotFound.detail), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("forbidden", Forbidden.detail), status=403)
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    if database_unavailable(exc):
        DATABASE.failed(exc)
        return Response(*_unavailable())
    logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
    return Response(error_body("server_error", SERVER_ERROR), status=500)


def _wants_json(request) -> bool:
    return request.path.startswith(("/api/", "/graphql/", "/readyz", "/healthz", "/metrics"))


@csrf_exempt
def api_not_found(request, exception=None):
    """Catch-all for unknown /api/ paths (DEBUG or not); no CSRF, like every API view."""
    return JsonResponse(error_body("not_found", NotFound.detail), status=404)


# How long a client should wait after a 503: a pool timeout is under two
# seconds, and a restarting Postgres is back in a few.
RETRY_AFTER = "2"
UNAVAILABLE = gettext_lazy("The database is not answering. Try again in a moment.")
SERVER_ERROR = gettext_lazy("Something went wrong on our side.")


def _unavailable() -> tuple[dict, int, None, dict]:
    return error_body("unavailable", UNAVAILABLE), 503, None, {"Retry-After": RETRY_AFTER}


def handler500(request):
    """Django's 500 handler, also for errors raised in middleware (the
    session, the user): a database outage is a 503, not a bug."""
    exc = sys.exc_info()[1]  # handler500 runs inside Django's `except`
    if exc is not None and database_unavailable(exc):
        DATABASE.failed(exc)
        if _wants_json(request):
            body, status, _, headers = _unavailable()
            return JsonResponse(body, status=status, headers=headers)
        from django.http import HttpResponse
        from django.template.loader import render_to_string

        page = render_to_string("polls/unavailable.html")  # no request: no session read
        return HttpResponse(page, status=503, headers={"Retry-After": RETRY_AFTER})
    if _wants_json(request):
        return JsonResponse(error_body("server_error", SERVER_ERROR), status=500)
    from django.views.defaults import server_error

    return server_error(request)
