"""Under ASGI the middleware chain runs on the event loop: one thread hop per
request (for the sync view), not three (docs/BENCHMARKS.md)."""

import logging

from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.test import RequestFactory

from nexus.middleware import StaticFilesMiddleware


def test_no_middleware_is_adapted_between_sync_and_async_under_asgi(caplog, settings):
    settings.DEBUG = True  # Django logs adaptations only then
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        ASGIHandler()
    assert [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()] == []


def test_the_same_chain_runs_sync_under_wsgi(caplog, settings):
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        WSGIHandler()
    assert [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()] == []


async def test_static_files_are_served_on_the_async_path(tmp_path):
    (tmp_path / "app.js").write_text("console.log('hi')")

    async def view(request):
        return HttpResponse("from the view")

    middleware = StaticFilesMiddleware(view)
    middleware.add_files(str(tmp_path), prefix="static/")
    assert iscoroutinefunction(middleware)

    static = await middleware(RequestFactory().get("/static/app.js"))
    assert static.status_code == 200
    assert b"".join(static) == b"console.log('hi')"
    passed_on = await middleware(RequestFactory().get("/api/polls/"))
    assert passed_on.content == b"from the view"
