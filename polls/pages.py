"""Pages for people in the room. Thin: they render a shell with the poll's
public data; the browser then uses the REST and WebSocket API like any
other client (static/nexus/*.js)."""

import io

import segno
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie

from nexus.accounts import user_register
from nexus.errors import NotFound

from . import selectors
from .serializers import PollSerializer


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
    return render(request, "polls/vote.html", {"poll": _poll_or_404(request, poll_id)})


@ensure_csrf_cookie
def present_page(request, poll_id):
    poll = _poll_or_404(request, poll_id)
    vote_url = request.build_absolute_uri(poll["urls"]["page"])
    return render(request, "polls/present.html", {"poll": poll, "vote_url": vote_url})


@cache_control(max_age=3600)
def qr_svg(request, poll_id):
    """The voter page's address as a QR code (SVG, made on the server)."""
    poll = _poll_or_404(request, poll_id)
    buffer = io.BytesIO()
    segno.make(request.build_absolute_uri(poll["urls"]["page"]), error="m").save(
        buffer, kind="svg", scale=10, border=2, xmldecl=False, title="Scan to vote"
    )
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


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
        login(request, user)
        return redirect("page-dashboard")
    return render(request, "registration/signup.html", {"form": form})
