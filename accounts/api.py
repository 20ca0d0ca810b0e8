"""The accounts API: register, and exchange credentials for an API token."""

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from nexus.fields import StrictCharField, StrictRegexField
from nexus.openapi import errors
from polls import examples
from polls.throttles import AnonAddressThrottle, SignupThrottle

from .services import token_for, user_register

User = get_user_model()


class RegisterSerializer(serializers.Serializer):
    username = StrictRegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    password = StrictCharField(write_only=True, max_length=128, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")

    def validate_username(self, username: str) -> str:
        if User.objects.filter(username__iexact=username).exists():
            raise serializers.ValidationError(gettext("This username is taken."))
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


class RegisterView(APIView):
    authentication_classes: list = []
    throttle_classes = [AnonAddressThrottle, SignupThrottle]

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
