"""The accounts' pages: sign-up here; sign-in and sign-out are Django's
own views (urls.py), throttled by django-axes (signin.py)."""

import math

from django import forms
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy, ngettext

from polls.throttles import SignupThrottle, throttles_check

from .services import user_register


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        help_text=gettext_lazy("Where the results of your polls are sent when they close."),
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def signup(request):
    form = SignupForm(request.POST or None)
    # Only a sign-up that would succeed counts against the address's limit: a
    # mistyped password confirmation is not an account made.
    if request.method == "POST" and form.is_valid():
        wait = throttles_check([SignupThrottle()], request, None)
        if wait is not None:
            minutes = max(1, math.ceil(wait / 60))
            form.add_error(
                None,
                ngettext(
                    "Too many accounts were made from your network. Try again in %(n)d minute.",
                    "Too many accounts were made from your network. Try again in %(n)d minutes.",
                    minutes,
                )
                % {"n": minutes},
            )
            return render(request, "registration/signup.html", {"form": form}, status=429)
        user, _ = user_register(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data["email"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("page-dashboard")
    return render(request, "registration/signup.html", {"form": form})
