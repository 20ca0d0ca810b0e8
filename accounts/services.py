"""Accounts' writes, for the API and the pages."""

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_lazy
from rest_framework.authtoken.models import Token

from nexus.errors import ApplicationError, Invalid

User = get_user_model()


class InvalidCredentials(ApplicationError):
    status, code = 400, "invalid_credentials"
    detail = gettext_lazy("Unknown username or wrong password.")


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "") -> tuple[User, Token]:
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError:  # lost a race for the name
        raise Invalid(fields={"username": gettext("This username is taken.")}) from None
    return user, Token.objects.create(user=user)


def token_for(request, *, username: str, password: str) -> Token:
    """`request` is Django's HttpRequest: django-axes counts the failures on it
    (accounts/signin.py) and its middleware answers 429 once they are too many."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise InvalidCredentials()
    token, _ = Token.objects.get_or_create(user=user)
    return token
