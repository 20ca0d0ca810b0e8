from django.urls import path, register_converter

from .answer_api import AnswerListView, AnswerModerateView
from .api import (
    ChallengeView,
    ExportDownloadView,
    ExportStartView,
    ExportView,
    IntegrityView,
    InviteDetailView,
    InviteListView,
    MyVoteView,
    PollViewSet,
    QuarantineView,
    ReleaseView,
    ResultsHistoryView,
    ResultsView,
    VoterView,
    VoteView,
)
from .event_api import EventCurrentView, EventDetailView, EventListView, EventPollsView
from .models import JOIN_CODE_PATTERN
from .question_api import (
    MyQuestionsView,
    QuestionListView,
    QuestionModerateView,
    QuestionPinView,
    UpvoteView,
)


class JoinCodeConverter:
    """Join codes are typed by people: accept lower case, look up upper case."""

    regex = JOIN_CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(JoinCodeConverter, "code")

poll_list = PollViewSet.as_view({"get": "list", "post": "create"})
poll_detail = PollViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("events/", EventListView.as_view(), name="event-list"),
    path("events/<code:event_id>/", EventDetailView.as_view(), name="event-detail"),
    path("events/<code:event_id>/current/", EventCurrentView.as_view(), name="event-current"),
    path("events/<code:event_id>/polls/", EventPollsView.as_view(), name="event-polls"),
    path("polls/", poll_list, name="poll-list"),
    path("polls/<code:poll_id>/", poll_detail, name="poll-detail"),
    path("polls/<code:poll_id>/open/", PollViewSet.as_view({"post": "open"}), name="poll-open"),
    path("polls/<code:poll_id>/close/", PollViewSet.as_view({"post": "close"}), name="poll-close"),
    path("polls/<code:poll_id>/reset/", PollViewSet.as_view({"post": "reset"}), name="poll-reset"),
    path("polls/<code:poll_id>/votes/", VoteView.as_view(), name="poll-votes"),
    path("polls/<code:poll_id>/challenge/", ChallengeView.as_view(), name="poll-challenge"),
    path("polls/<code:poll_id>/integrity/", IntegrityView.as_view(), name="poll-integrity"),
    path(
        "polls/<code:poll_id>/integrity/quarantine/",
        QuarantineView.as_view(),
        name="poll-quarantine",
    ),
    path("polls/<code:poll_id>/integrity/release/", ReleaseView.as_view(), name="poll-release"),
    path("polls/<code:poll_id>/votes/mine/", MyVoteView.as_view(), name="poll-vote-mine"),
    path("polls/<code:poll_id>/invites/", InviteListView.as_view(), name="poll-invites"),
    path(
        "polls/<code:poll_id>/invites/<str:token>/",
        InviteDetailView.as_view(),
        name="poll-invite-detail",
    ),
    path("polls/<code:poll_id>/answers/", AnswerListView.as_view(), name="poll-answers"),
    path(
        "polls/<code:poll_id>/answers/<int:answer_id>/show/",
        AnswerModerateView.as_view(state="shown"),
        name="answer-show",
    ),
    path(
        "polls/<code:poll_id>/answers/<int:answer_id>/hide/",
        AnswerModerateView.as_view(state="hidden"),
        name="answer-hide",
    ),
    path("polls/<code:poll_id>/questions/", QuestionListView.as_view(), name="poll-questions"),
    path("polls/<code:poll_id>/questions/mine/", MyQuestionsView.as_view(), name="questions-mine"),
    path(
        "polls/<code:poll_id>/questions/<int:question_id>/upvote/",
        UpvoteView.as_view(),
        name="question-upvote",
    ),
    *(
        path(
            f"polls/<code:poll_id>/questions/<int:question_id>/{action}/",
            QuestionModerateView.as_view(action=action),
            name=f"question-{action}",
        )
        for action in ("show", "hide", "answered")
    ),
    path(
        "polls/<code:poll_id>/questions/<int:question_id>/pin/",
        QuestionPinView.as_view(),
        name="question-pin",
    ),
    path("voters/", VoterView.as_view(), name="voters"),
    path("polls/<code:poll_id>/results/", ResultsView.as_view(), name="poll-results"),
    path(
        "polls/<code:poll_id>/results/history/",
        ResultsHistoryView.as_view(),
        name="poll-results-history",
    ),
    path("polls/<code:poll_id>/exports/", ExportStartView.as_view(), name="poll-exports"),
    path("exports/<uuid:export_id>/", ExportView.as_view(), name="export-detail"),
    path(
        "exports/<uuid:export_id>/download/", ExportDownloadView.as_view(), name="export-download"
    ),
]
