from django.contrib.auth import views as auth_views
from django.urls import path

from . import api, pages

urlpatterns = [
    path("api/auth/register/", api.RegisterView.as_view(), name="auth-register"),
    path("api/auth/token/", api.TokenView.as_view(), name="auth-token"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", pages.signup, name="signup"),
]
