"""The pages' JavaScript strings (Django's catalog), in the page's language."""

from django.conf import settings
from django.http import Http404
from django.utils import translation
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

_catalog = JavaScriptCatalog.as_view()


@cache_control(public=True, max_age=3600)
def javascript_catalog(request):
    """`?l=` is the page's own language and decides the catalog: each
    language has one URL for browsers to cache, whatever the visitor's
    cookie says meanwhile, and any other URL is a 404 (nothing kept per
    made-up query). No server cache: the catalog is read from memory."""
    match list(request.GET.lists()):
        case [("l", [language])] if language in dict(settings.LANGUAGES):
            pass
        case _:
            raise Http404
    with translation.override(language):
        response = _catalog(request)
    response["Content-Language"] = language
    return response
