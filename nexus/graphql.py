"""The GraphQL endpoint: schema, limits, and REST's authentication."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import strawberry
from cross_web import HTTPException
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
)
from rest_framework import exceptions as drf
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request
from strawberry.django.context import StrawberryDjangoContext
from strawberry.django.views import GraphQLView
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types.graphql import OperationType

from nexus import limits
from nexus.errors import ApplicationError, error_body, exception_handler
from polls.eligibility import guarded
from polls.graphql import Mutation, Query, Subscription, _graphql_error
from polls.throttles import (
    WRITE_THROTTLES,
    ChallengeThrottle,
    HistoryThrottle,
    IntegrityThrottle,
    QuestionAddressThrottle,
    QuestionThrottle,
    throttles_check,
)
from polls.voters import VOTER_COOKIE, VOTER_HEADER, address_prefix, set_voter_cookie, voter_resolve


@dataclass
class NexusContext(StrawberryDjangoContext):
    """Who is asking, decided exactly as DRF decides it for REST."""

    api_request: Request | None = None
    auth_error: Exception | None = None
    _user: object = field(default=None, repr=False)
    counted: bool = False  # the request was counted at the door (the view)

    def __post_init__(self):
        self.api_request = Request(
            self.request, authenticators=[TokenAuthentication(), SessionAuthentication()]
        )
        try:  # a bad token fails, and a session write without CSRF is refused
            self._user = self.api_request.user
        except drf.APIException as exc:
            self._user, self.auth_error = AnonymousUser(), exc

    @property
    def user(self):
        if self.auth_error is not None:
            raise _graphql_error(self.auth_error)
        return self._user

    @property
    def address(self) -> str:
        return address_prefix(self.api_request)

    def voter(self, voter_id: str | None, *, external: str | None = None, create: bool = False):
        """As REST decides it, with `voterId` for X-Voter-Id and `externalVoter`
        for X-External-Voter. `self.user` raises for a session write without
        its CSRF token: such a request never becomes an anonymous voter."""
        user = self.user
        return guarded(
            "voter_id",
            self.address,
            lambda: voter_resolve(
                user=user,
                voter_id=voter_id
                if voter_id is not None
                else self.request.headers.get(VOTER_HEADER),
                cookie=self.request.COOKIES.get(VOTER_COOKIE),
                external=external,
                create=create,
            ),
            check_first=False,
        )

    def set_voter_cookie(self, voter_id: str) -> None:
        if self.response is not None:
            set_voter_cookie(self.response, self.request, voter_id)

    def throttle(
        self,
        *,
        question_by: str | None = None,
        question: bool = False,
        challenge: bool = False,
        integrity: bool = False,
        history: bool = False,
    ) -> None:
        """Count one write. The request itself was counted at the door: that
        count is the first write's, so one mutation is one count, and each
        further mutation in the same document counts again. A question asked
        (`question`, by the `voterId` given, if any) also counts against the
        question limits; a challenge handed out, against the challenge limit;
        a history page read, against the history limit."""
        classes = [QuestionThrottle, QuestionAddressThrottle] if question else []
        classes += [ChallengeThrottle] if challenge else []
        classes += [IntegrityThrottle] if integrity else []
        classes += [HistoryThrottle] if history else []
        if self.counted:
            self.counted = False
        else:
            classes += WRITE_THROTTLES
        if not classes:
            return
        throttles = [throttle_class() for throttle_class in classes]
        view = SimpleNamespace(voter_id=question_by)
        wait = throttles_check(throttles, self.api_request, view)
        if wait is not None:
            raise drf.Throttled(wait=wait)


class NexusGraphQLView(GraphQLView):
    def get_context(self, request, response) -> NexusContext:
        """Every GraphQL request is rate limited per client, as REST writes
        are, before anything is parsed."""
        context = NexusContext(request=request, response=response)
        if request.method != "GET" or "query" in request.GET:
            context.throttle()
            context.counted = True
        return context

    def decode_json(self, data: str | bytes) -> object:
        return limits.loads(data)  # depth, size and control characters

    def dispatch(self, request, *args, **kwargs):
        """Strawberry answers a bad request in plain text: ours is JSON."""
        try:
            return self.run(request=request)
        except (ApplicationError, drf.APIException) as exc:  # as REST answers them
            answer = exception_handler(exc, {"view": "graphql"})
            response = JsonResponse(answer.data, status=answer.status_code)
            for header in ("Retry-After", "WWW-Authenticate"):
                if header in answer:
                    response[header] = answer[header]
            return response
        except HTTPException as exc:
            code = _HTTP_CODES.get(exc.status_code, "invalid")
            return JsonResponse(error_body(code, exc.reason), status=exc.status_code)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class NoControlCharacters(ValidationRule):
    """A string literal in the query may not carry NUL or other control
    characters (an escape such as \\u0000 decodes to one); variables are
    checked with the body (nexus/limits.py)."""

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if limits.TEXT_CONTROL.search(node.value):
            self.report_error(
                GraphQLError(
                    "Text may not contain NUL or other control characters.",
                    node,
                    extensions={"code": "invalid"},
                )
            )


class QueryCost(SchemaExtension):
    """The query's cost, counted on the parsed document before validation
    runs: graphql-core's validation compares every pair of same-named
    fields in a selection, so `{ polls { id } ×497 }`, under the token,
    depth and alias limits, cost 1.6 s of CPU before anything ran. A field
    counts once per place it is asked for, fragments counted where they are
    spread, and each spread counts one."""

    def on_validate(self):
        document = self.execution_context.graphql_document
        limit = settings.NEXUS_GRAPHQL_MAX_FIELDS
        if document is not None and (cost := query_cost(document, limit)) > limit:
            message = gettext(
                "The query costs %(cost)d or more (fields and spreads); at most %(limit)d."
            ) % {"cost": cost, "limit": limit}
            self.execution_context.pre_execution_errors = [
                GraphQLError(message, extensions={"code": "too_complex"})
            ]  # set before validation: strawberry then skips it
        yield


def query_cost(document: DocumentNode, limit: int) -> int:
    """Fields asked for, fragments expanded; stops counting past `limit`
    (a fragment cycle or a fan-out of spreads cannot run it long)."""
    definitions = document.definitions
    fragments = {
        d.name.value: d.selection_set for d in definitions if isinstance(d, FragmentDefinitionNode)
    }
    stack = [d.selection_set for d in definitions if isinstance(d, OperationDefinitionNode)]
    cost = 0
    while stack and cost <= limit:
        selection_set = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += 1
                if selection.selection_set is not None:
                    stack.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                cost += 1  # a spread costs too: a cycle of them ends here
                spread = fragments.get(selection.name.value)
                if spread is not None:
                    stack.append(spread)
    return cost


def _extensions() -> list:
    checks = [
        QueryCost,
        lambda: QueryDepthLimiter(max_depth=settings.NEXUS_GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=20),
        lambda: MaxTokensLimiter(max_token_count=settings.NEXUS_GRAPHQL_MAX_TOKENS),
        lambda: AddValidationRules([NoControlCharacters]),
    ]
    return checks if settings.NEXUS_GRAPHQL_INTROSPECTION else [*checks, DisableIntrospection]


schema = strawberry.Schema(
    query=Query, mutation=Mutation, subscription=Subscription, extensions=_extensions()
)


class SubscriptionsOnly:
    """The schema as the GraphQL WebSocket runs it: subscriptions only.
    Queries and mutations belong to POST /graphql/, where a request carries
    the authentication, CSRF, throttles and limits they rely on; over the
    socket they answer "queries are not allowed" (or "mutations")."""

    def __init__(self, schema: strawberry.Schema):
        self.schema = schema

    def __getattr__(self, name: str):
        return getattr(self.schema, name)

    async def stream(self, *args, **kwargs):
        kwargs["allowed_operation_types"] = (OperationType.SUBSCRIPTION,)
        return await self.schema.stream(*args, **kwargs)


socket_schema = SubscriptionsOnly(schema)

# Like every DRF view: CSRF is enforced for session users (SessionAuthentication
# above), not for token clients.
graphql_view = csrf_exempt(
    NexusGraphQLView.as_view(
        schema=schema, graphql_ide="graphiql" if settings.NEXUS_GRAPHIQL else None
    )
)
