"""Middleware that keeps an ASGI request on the event loop until its view.

Django runs a middleware chain async under ASGI only if every middleware in
it can run async; one sync-only middleware (WhiteNoise 6 is one) makes it
run the middleware above it in a thread and hop back to the loop for the
middleware below, then to a thread again for the view: three thread hops per
request instead of one (docs/BENCHMARKS.md, "The vote path over HTTP").
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, sync and async: a request that is not for a static file
    passes straight through; one that is is served in a thread (file I/O)."""

    sync_capable = async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:  # development: looks on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
