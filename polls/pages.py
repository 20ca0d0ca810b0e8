"""Pages for people in the room. Thin: they render a shell with the poll's
public data; the browser then uses the REST and WebSocket API like any
other client (static/nexus/*.js)."""

import io
import logging
import re
from urllib.parse import urlencode

import segno
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie

from nexus import links
from nexus.errors import ApplicationError, NotFound

from . import selectors
from .models import JOIN_CODE_PATTERN, Event, Poll
from .serializers import EMBED_ORIGINS_CHARS, PollSerializer, ballot_marks, event_data
from .services import invites
from .voters import VOTER_COOKIE, voter_resolve

logger = logging.getLogger("nexus.pages")

SHEET_PAGE_SIZE = 48  # invites per page of the printable sheet
SHEET_PRINT_GROUP = 12  # per printed page: 3 columns x 4 rows, A4 or Letter


def _poll(request, poll_id: str) -> dict | None:
    try:
        poll = selectors.poll_get(poll_id=poll_id, user=request.user)
    except NotFound:
        return None
    return PollSerializer(poll).data


def missing_poll(request, code: str) -> HttpResponse:
    """The 404 page with the join box again, saying which code was wrong
    (the site's own page also in development, not Django's URL list)."""
    return render(request, "404.html", {"missing_code": code}, status=404)


@cache_control(max_age=86400)
def favicon(request):
    # Not permanent: the hashed name changes when the icon does.
    return redirect(staticfiles_storage.url("nexus/favicon.svg"))


@ensure_csrf_cookie
def home(request):
    code = request.GET.get("code", "").strip().upper()
    if code:
        if not re.fullmatch(JOIN_CODE_PATTERN, code):
            return missing_poll(request, code[:16])
        if Event.objects.filter(pk=code).exists():  # one namespace: an event's code
            return redirect("page-event", event_id=code)
        if not Poll.objects.filter(pk=code).exists():
            return missing_poll(request, code)
        return redirect("page-vote", poll_id=code)
    return render(request, "polls/home.html")


def _my_ballot(request, poll: dict) -> dict:
    """This visitor's ballot, read with the page, so that the page asks
    the API only when the server could not tell (a stale voter cookie; an
    invite token the tab kept after it left the address bar): "not voted
    yet" is then no 404 in the browser's console."""
    invite = request.GET.get("invite") if poll["eligibility"] == Poll.Eligibility.INVITE else None
    try:
        voter = voter_resolve(
            user=request.user,
            voter_id=invite or None,
            cookie=request.COOKIES.get(VOTER_COOKIE),
            external=None,
            create=False,
        )
    except ApplicationError:  # a voter id the server no longer accepts: the page renews it
        return {"known": False, "choices": None}
    mine = voter and selectors.ballot_mine(poll_id=poll["id"], voter=voter)
    if not mine:
        return {"known": True, "choices": None}
    if poll["kind"] == Poll.Kind.TEXT:  # how many answers this voter has given
        return {"known": True, "choices": [], "answered": mine[0].answers.count()}
    return {"known": True, **ballot_marks(mine[1], poll["kind"])}


@ensure_csrf_cookie
def vote_page(request, poll_id):
    poll = _poll(request, poll_id)
    if poll is None:
        if Event.objects.filter(pk=poll_id).exists():  # /p/{code}/ takes an event's code too
            return redirect("page-event", event_id=poll_id)
        return missing_poll(request, poll_id)
    signed_in_only = poll["eligibility"] == Poll.Eligibility.SIGNED_IN or not poll["anonymous"]
    context = {
        "poll": poll,
        "ballot": _my_ballot(request, poll),
        "embedded": request.GET.get("embed") == "1",  # inside an event's page
        "scale": range(poll["scale"]["min"], poll["scale"]["max"] + 1) if poll["scale"] else (),
        "sign_in_needed": signed_in_only and not request.user.is_authenticated,
        "sign_in_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "polls/vote.html", context)


@ensure_csrf_cookie
def present_page(request, poll_id):
    poll = _poll(request, poll_id)
    if poll is None:
        return missing_poll(request, poll_id)
    vote_url = links.absolute(request, poll["urls"]["page"])
    context = {
        "poll": poll,
        "vote_url": vote_url,
        "vote_url_parts": _url_parts(vote_url),
        "embedded": request.GET.get("embed") == "1",
        # A Q&A poll's owner gets pin / answered / hide on each question.
        "moderates": poll["kind"] == Poll.Kind.QA
        and request.user.is_authenticated
        and poll["owner"] == request.user.get_username(),
    }
    return render(request, "polls/present.html", context)


# An origin as OriginField stores it: whatever reached the database some
# other way (the admin, a script) is checked again before it is a header.
ORIGIN = re.compile(r"https?://(?:[a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
FRAMERS_CHARS = 2 * EMBED_ORIGINS_CHARS  # a poll's and its event's


def _framable(response: HttpResponse, origins: list[str]) -> HttpResponse:
    """Only embeds may be framed by other sites, and only by the origins
    their owner listed. X-Frame-Options cannot name origins, so an embed
    goes without it (a missing poll's page keeps it)."""
    framers: list[str] = []
    for origin in dict.fromkeys(origins):
        if not (isinstance(origin, str) and ORIGIN.fullmatch(origin)):
            logger.warning("embed origin %r is not an origin: left out", origin)
        elif sum(len(o) + 1 for o in framers) + len(origin) <= FRAMERS_CHARS:
            framers.append(origin)
        else:
            logger.warning("embed origin %r is past %d characters: left out", origin, FRAMERS_CHARS)
    response._csp_replace = {"frame-ancestors": ["'self'", *framers]}  # type: ignore[attr-defined]
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


def _transparent(request) -> bool:
    return request.GET.get("background") == "transparent"


def embed_page(request, poll_id):
    """The live chart alone, for another site's page or a stream overlay.
    As on the projector, hidden results stay hidden whoever is signed in."""
    poll = _poll(request, poll_id)
    if poll is None:
        return missing_poll(request, poll_id)
    origins = list(poll["embed_origins"])
    event_id = request.GET.get("event", "").upper()
    if re.fullmatch(JOIN_CODE_PATTERN, event_id):  # inside its event's embed: the event's sites too
        event = Event.objects.filter(pk=event_id, items__poll_id=poll_id).first()
        origins += event.embed_origins if event else []
    context = {
        "poll": poll,
        "vote_url": links.absolute(request, poll["urls"]["page"]),
        "transparent": _transparent(request),
    }
    return _framable(render(request, "polls/embed.html", context), origins)


def event_embed_page(request, event_id):
    event = _event(request, event_id)
    if event is None:
        return missing_poll(request, event_id)
    context = {
        "event": event,
        "transparent": _transparent(request),
        "query": "&background=transparent" if _transparent(request) else "",
    }
    return _framable(render(request, "polls/event_embed.html", context), event["embed_origins"])


def _event(request, event_id: str) -> dict | None:
    """What the event's pages need; the polls list as its API shows it."""
    try:
        event = selectors.event_get(event_id=event_id)
    except NotFound:
        return None
    data = event_data(event, selectors.event_poll_ids(event=event, user=request.user))
    return {**data, "is_owner": event.owner_id == request.user.pk}


@ensure_csrf_cookie
def event_page(request, event_id):
    """A phone at an event: follows the presenter from question to question."""
    event = _event(request, event_id)
    if event is None:
        return missing_poll(request, event_id)
    return render(request, "polls/event.html", {"event": event})


@ensure_csrf_cookie
def event_present_page(request, event_id):
    """The projector at an event; its owner gets the controls."""
    event = _event(request, event_id)
    if event is None:
        return missing_poll(request, event_id)
    event_url = links.absolute(request, event["urls"]["page"])
    context = {"event": event, "event_url": event_url, "event_url_parts": _url_parts(event_url)}
    return render(request, "polls/event_present.html", context)


def _url_parts(url: str) -> tuple[str, str]:
    """A join URL as (where, "CODE/"): the screen may wrap the first part but
    never inside the code, which people copy letter by letter."""
    where, _, code = url.rstrip("/").rpartition("/")
    return f"{where}/", f"{code}/"


@cache_control(max_age=3600)
def event_qr_svg(request, event_id):
    """The event page's address as a QR code: one code for the whole talk."""
    if not Event.objects.filter(pk=event_id).exists():
        raise Http404("No event with this code")
    return HttpResponse(
        _qr(links.absolute(request, f"/e/{event_id}/")), content_type="image/svg+xml"
    )


@cache_control(max_age=3600)
def qr_svg(request, poll_id):
    """The voter page's address as a QR code (SVG, made on the server)."""
    poll = _poll(request, poll_id)
    if poll is None:
        raise Http404("No poll with this code")
    return HttpResponse(
        _qr(links.absolute(request, poll["urls"]["page"])), content_type="image/svg+xml"
    )


def _qr(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=10, border=2, xmldecl=False, title="Scan to vote"
    )
    return buffer.getvalue()


@login_required
def invite_sheet(request, poll_id):
    """The poll's unused invites as QR codes to print and cut (owner only;
    anyone else gets the 404 of a missing poll). Inline SVGs: no requests."""
    try:
        poll = selectors.poll_get(poll_id=poll_id, user=request.user)
    except NotFound:
        raise Http404("No poll with this code") from None
    if poll.owner_id != request.user.pk:
        raise Http404("No poll with this code")
    unused = invites.invite_list(poll=poll, unused_only=True)
    page = Paginator(unused, SHEET_PAGE_SIZE).get_page(request.GET.get("page"))
    vote_url = links.absolute(request, reverse("page-vote", args=[poll.id]))
    cards = [
        {"number": number, "svg": _invite_qr(f"{vote_url}?invite={invite.token}", number)}
        for number, invite in enumerate(page.object_list, start=page.start_index())
    ]
    groups = [cards[i : i + SHEET_PRINT_GROUP] for i in range(0, len(cards), SHEET_PRINT_GROUP)]
    context = {"poll": poll, "page": page, "groups": groups, "unused": len(unused)}
    return render(request, "polls/invite_sheet.html", context)


def _invite_qr(url: str, number: int) -> str:
    """An SVG element to put in HTML (no XML declaration, size from CSS)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer,
        kind="svg",
        border=2,
        xmldecl=False,
        svgns=False,
        omitsize=True,
        title=gettext("QR code of invite %(number)s") % {"number": number},
    )
    return mark_safe(buffer.getvalue().decode())  # segno escapes the title; the rest is its markup


@login_required
@ensure_csrf_cookie
def dashboard(request):
    # The embed snippet's address: the public one, whatever host the owner used.
    return render(
        request, "polls/dashboard.html", {"public_url": links.absolute(request, "/").rstrip("/")}
    )
