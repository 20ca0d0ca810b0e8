"""OpenAPI examples, shown in Swagger UI and used by client generators."""

from drf_spectacular.utils import OpenApiExample

POLL_CREATE = OpenApiExample(
    "A single-choice poll",
    request_only=True,
    value={
        "question": "Which colour for the new logo?",
        "choices": ["Red", "Green", "Blue"],
        "kind": "single",
        "results": "live",
    },
)

VOTE_REQUEST = OpenApiExample("One choice", request_only=True, value={"choices": [11]})

BALLOT = OpenApiExample(
    "Ballot recorded",
    response_only=True,
    status_codes=[201, 200],
    value={
        "poll": "K7Q2XP",
        "choices": [11],
        "voter_id": "q3J9m1xYb7Zp0aLk",
        "created_at": "2026-11-27T10:15:00.123456Z",
    },
)

RESULTS = OpenApiExample(
    "Results",
    response_only=True,
    status_codes=[200],
    value={
        "poll": "K7Q2XP",
        "version": 42,
        "status": "open",
        "total_votes": 17,
        "choices": [
            {"id": 11, "text": "Red", "votes": 10, "share": 0.5882},
            {"id": 12, "text": "Green", "votes": 7, "share": 0.4118},
        ],
        "updated_at": "2026-11-27T10:15:00.123456Z",
    },
)
