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

POLL = OpenApiExample(
    "A poll",
    response_only=True,
    status_codes=[200, 201],
    value={
        "id": "K7Q2XP",
        "question": "Which colour for the new logo?",
        "description": "",
        "kind": "single",
        "max_choices": 1,
        "anonymous": True,
        "allow_vote_change": False,
        "results": "live",
        "status": "open",
        "opens_at": None,
        "closes_at": None,
        "created_at": "2026-11-27T10:00:00.000000Z",
        "owner": "alice",
        "choices": [
            {"id": 11, "text": "Red", "position": 0},
            {"id": 12, "text": "Green", "position": 1},
        ],
        "urls": {
            "vote": "/api/polls/K7Q2XP/votes/",
            "results": "/api/polls/K7Q2XP/results/",
            "websocket": "/ws/polls/K7Q2XP/",
            "page": "/p/K7Q2XP/",
            "present": "/p/K7Q2XP/present/",
            "embed": "/p/K7Q2XP/embed/",
        },
        "embed_origins": ["https://blog.example.org"],
    },
)

POLL_EDIT = OpenApiExample(
    "Reword a poll", request_only=True, value={"question": "Which colour for the logo?"}
)

REGISTER = OpenApiExample(
    "Register",
    request_only=True,
    value={"username": "alice", "password": "correct-horse-battery", "email": "a@example.com"},
)

REGISTERED = OpenApiExample(
    "Registered",
    response_only=True,
    status_codes=[201],
    value={"id": 2, "username": "alice", "token": "9ca476a393e8ba067f24a9ed2542a70b13236ef3"},
)

CREDENTIALS = OpenApiExample(
    "Credentials",
    request_only=True,
    value={"username": "alice", "password": "correct-horse-battery"},
)

TOKEN = OpenApiExample(
    "Token",
    response_only=True,
    status_codes=[200],
    value={"token": "9ca476a393e8ba067f24a9ed2542a70b13236ef3"},
)

EVENT_CREATE = OpenApiExample("An event", request_only=True, value={"title": "All-hands, November"})

EVENT = OpenApiExample(
    "An event on its second question",
    response_only=True,
    value={
        "id": "H4WQ8R",
        "title": "All-hands, November",
        "owner": "alice",
        "polls": ["K7Q2XP", "M3N9TD", "Q2ZP7C"],
        "current": "M3N9TD",
        "version": 7,
        "urls": {
            "page": "/e/H4WQ8R/",
            "present": "/e/H4WQ8R/present/",
            "embed": "/e/H4WQ8R/embed/",
            "websocket": "/ws/events/H4WQ8R/",
        },
        "embed_origins": [],
        "created_at": "2026-11-28T09:00:00Z",
    },
)

EVENT_CURRENT = OpenApiExample("Show this poll", request_only=True, value={"poll": "M3N9TD"})
