from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .errors import api_not_found
from .graphql import graphql_view
from .i18n import javascript_catalog
from .ops import healthz, metrics, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The language switcher's POST (Django's set_language) and the pages'
    # JavaScript strings (?l=<the page's language>).
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
    path("", include("accounts.urls")),
    path("graphql/", graphql_view, name="graphql"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("polls.urls")),
    path("api/", include("webhooks.urls")),
    # JSON 404s for unknown API paths, also with DEBUG on.
    re_path(r"^api/", api_not_found),
    path("", include("polls.page_urls")),
]

handler500 = "nexus.errors.handler500"
