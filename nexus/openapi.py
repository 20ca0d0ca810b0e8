"""Schema helpers: the error body and per-endpoint error responses."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from .errors import error_body


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case reason, e.g. `already_voted`.")
    detail = serializers.CharField(help_text="A sentence for a human.")
    fields = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Per-field messages."
    )


COMMON = {
    "invalid": (400, "Some fields are invalid."),
    "not_authenticated": (401, "Authentication credentials were not provided."),
    "forbidden": (403, "Only the poll's owner may do this."),
    "not_found": (404, "No poll with this id."),
    "throttled": (429, "Request was throttled. Expected available in 12 seconds."),
}


def errors(*codes: str, **custom: tuple[int, str]) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse} with one example per error code."""
    specs = {code: COMMON[code] for code in codes} | custom
    by_status: dict[int, list[OpenApiExample]] = {}
    for code, (status, detail) in specs.items():
        fields = {"question": "This field is required."} if code == "invalid" else None
        by_status.setdefault(status, []).append(
            OpenApiExample(
                code,
                value=error_body(code, detail, fields),
                status_codes=[status],
                response_only=True,
            )
        )
    return {
        status: OpenApiResponse(
            ErrorSerializer, description=", ".join(e.name for e in examples), examples=examples
        )
        for status, examples in by_status.items()
    }
