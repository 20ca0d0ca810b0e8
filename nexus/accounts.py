"""Accounts: register and exchange credentials for an API token."""

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from polls import examples
from polls.throttles import AnonAddressThrottle

from .errors import ApplicationError, Invalid
from .fields import StrictCharField, StrictRegexField
from .openapi import errors

User = get_user_model()


class InvalidCredentials(ApplicationError):
    status, code, detail = 400, "invalid_credentials", "Unknown username or wrong password."


class RegisterSerializer(serializers.Serializer):
    username = StrictRegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    password = StrictCharField(write_only=True, max_length=128, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")

    def validate_username(self, username: str) -> str:
        if User.objects.filter(username__iexact=username).exists():
            raise serializers.ValidationError("This username is taken.")
        return username

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs.get("email", ""))
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "") -> tuple[User, Token]:
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError:  # lost a race for the name
        raise Invalid(fields={"username": "This username is taken."}) from None
    return user, Token.objects.create(user=user)


def token_for(request, *, username: str, password: str) -> Token:
    """`request` is Django's HttpRequest: django-axes counts the failures on it
    (nexus/signin.py) and its middleware answers 429 once they are too many."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise InvalidCredentials()
    token, _ = Token.objects.get_or_create(user=user)
    return token


class RegisterView(APIView):
    authentication_classes: list = []
    throttle_classes = [AnonAddressThrottle]

    @extend_schema(
        summary="Create an account",
        request=RegisterSerializer,
        examples=[examples.REGISTER, examples.REGISTERED],
        responses={201: RegisteredSerializer, **errors("invalid", "throttled")},
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, token = user_register(**serializer.validated_data)
        return Response({"id": user.pk, "username": user.username, "token": token.key}, status=201)


class TokenView(APIView):
    authentication_classes: list = []
    throttle_classes = [AnonAddressThrottle]

    @extend_schema(
        summary="Get an API token",
        request=CredentialsSerializer,
        examples=[examples.CREDENTIALS, examples.TOKEN],
        responses={
            200: TokenSerializer,
            **errors(
                "invalid",
                "throttled",
                invalid_credentials=(400, "Unknown username or wrong password."),
            ),
        },
    )
    def post(self, request):
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"token": token_for(request._request, **serializer.validated_data).key})
