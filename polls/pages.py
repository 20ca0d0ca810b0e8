"""Pages for people in the room. Thin: they render a shell with the poll's
public data; the browser then uses the REST and WebSocket API like any
other client (static/nexus/*.js)."""

import io
from urllib.parse import urlencode

import segno
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie

from nexus import links
from nexus.accounts import user_register
from nexus.errors import NotFound

from . import selectors
from .models import Poll
from .serializers import PollSerializer
from .services import invites

SHEET_PAGE_SIZE = 48  # invites per page of the printable sheet
SHEET_PRINT_GROUP = 12  # per printed page: 3 columns x 4 rows, A4 or Letter


def _poll_or_404(request, poll_id: str) -> dict:
    try:
        poll = selectors.poll_get(poll_id=poll_id, user=request.user)
    except NotFound:
        raise Http404("No poll with this code") from None
    return PollSerializer(poll).data


@ensure_csrf_cookie
def home(request):
    code = request.GET.get("code", "").strip().upper()
    if code:
        return redirect("page-vote", poll_id=code)
    return render(request, "polls/home.html")


@ensure_csrf_cookie
def vote_page(request, poll_id):
    poll = _poll_or_404(request, poll_id)
    signed_in_only = poll["eligibility"] == Poll.Eligibility.SIGNED_IN or not poll["anonymous"]
    context = {
        "poll": poll,
        "sign_in_needed": signed_in_only and not request.user.is_authenticated,
        "sign_in_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "polls/vote.html", context)


@ensure_csrf_cookie
def present_page(request, poll_id):
    poll = _poll_or_404(request, poll_id)
    vote_url = links.absolute(request, poll["urls"]["page"])
    return render(request, "polls/present.html", {"poll": poll, "vote_url": vote_url})


@cache_control(max_age=3600)
def qr_svg(request, poll_id):
    """The voter page's address as a QR code (SVG, made on the server)."""
    poll = _poll_or_404(request, poll_id)
    buffer = io.BytesIO()
    segno.make(links.absolute(request, poll["urls"]["page"]), error="m").save(
        buffer, kind="svg", scale=10, border=2, xmldecl=False, title="Scan to vote"
    )
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


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
        title=f"QR code of invite {number}",
    )
    return mark_safe(buffer.getvalue().decode())  # segno escapes the title; the rest is its markup


@login_required
@ensure_csrf_cookie
def dashboard(request):
    return render(request, "polls/dashboard.html")


def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user, _ = user_register(
            username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("page-dashboard")
    return render(request, "registration/signup.html", {"form": form})
