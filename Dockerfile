# syntax=docker/dockerfile:1
# Build: wheels for the pinned dependencies, then a slim runtime image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY nexus ./nexus
COPY polls ./polls
COPY realtime ./realtime
COPY accounts ./accounts
COPY webhooks ./webhooks
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    NEXUS_STATIC_ROOT=/app/staticfiles NEXUS_MEDIA_ROOT=/data/media
RUN useradd --create-home --uid 10001 nexus && mkdir -p /data/media && chown nexus /data/media
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=nexus manage.py ./
COPY --chown=nexus nexus ./nexus
COPY --chown=nexus polls ./polls
COPY --chown=nexus accounts ./accounts
COPY --chown=nexus realtime ./realtime
COPY --chown=nexus webhooks ./webhooks
# The compiled translations (.mo) are committed: no gettext in the image.
COPY --chown=nexus locale ./locale
# Static files are collected at build time; WhiteNoise serves them.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
USER nexus
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# One ASGI process serves everything (REST, pages, WebSockets): a container on
# its own is complete. docker-compose.yml splits the REST API off to WSGI
# workers (`web`), faster per request (docs/BENCHMARKS.md), and runs this as
# `sockets`; worker and beat override it too.
CMD ["granian", "--interface", "asgi", "--host", "0.0.0.0", "--port", "8000", "--workers", "1", "--respawn-failed-workers", "--respawn-interval", "1", "--workers-kill-timeout", "10", "--no-access-log", "nexus.asgi:application"]
