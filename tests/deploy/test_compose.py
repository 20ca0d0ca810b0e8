"""No Docker engine here: check the compose file, the Dockerfile and nginx's
config against the project, and run the processes compose would start."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from django.core.management import get_commands

from tests.conftest import require_service
from tests.servers import ROOT, free_port, wait_for

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP = ("migrate", "web", "worker", "beat")


def settings_read_by_the_project() -> set[str]:
    pattern = re.compile(r"""(?:env_\w+|os\.environ\.get|os\.environ\[)\(?\s*["']([A-Z_]+)["']""")
    names = set()
    for package in ("nexus", "polls", "realtime"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def test_compose_has_every_service_with_health_checks_and_ordering():
    assert set(SERVICES) >= {"postgres", "redis", "rabbitmq", "web", "worker", "beat", "nginx"}
    for name in ("postgres", "redis", "rabbitmq", "web"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
    }
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert SERVICES["nginx"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert "ports" not in SERVICES["web"]  # scalable: only nginx publishes a port
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


def test_every_app_command_exists_in_the_project():
    for name in APP:
        command = SERVICES[name]["command"]
        if command[0] in {"granian", "daphne"}:
            assert command[-1] == "nexus.asgi:application"
            assert (ROOT / "nexus" / "asgi.py").exists()
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "nexus"] and (ROOT / "nexus" / "celery.py").exists()
        else:
            assert command[:2] == ["python", "manage.py"] and command[2] in get_commands()


def test_every_environment_variable_is_one_the_project_reads():
    known = settings_read_by_the_project()
    for name in APP:
        for variable in SERVICES[name]["environment"]:
            assert variable in known, f"{name}: {variable} is not read by the project"


def test_ports_line_up_from_nginx_to_the_web_processes():
    web = SERVICES["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert web["expose"] == [port]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert f"server web:{port}" in nginx and "listen 80;" in nginx
    assert SERVICES["nginx"]["ports"] == ["8080:80"]
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx


def test_the_dockerfile_is_slim_multi_stage_non_root_and_healthy():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.11-slim") == 2
    assert "USER nexus" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "collectstatic" in dockerfile
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1)
    assert yaml.safe_load(cmd) == SERVICES["web"]["command"]


def test_nginx_accepts_the_config(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: apt-get install nginx (.ci/run does)")
    # `web` only resolves inside compose; everything else is checked as is.
    site = (ROOT / "deploy" / "nginx.conf").read_text().replace("server web:", "server 127.0.0.1:")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_web_and_worker_commands_run_for_real_on_the_services(tmp_path):
    from django.db import connection

    from nexus.celery import app

    broker = os.environ.get("NEXUS_TEST_BROKER_URL", "")
    require_service(bool(broker), "RabbitMQ (NEXUS_TEST_BROKER_URL)")
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    require_service(bool(os.environ.get("REDIS_URL")), "Redis (REDIS_URL)")
    db = connection.settings_dict
    queue = f"nexus-compose-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "SECRET_KEY": "compose-test",
        "CELERY_BROKER_URL": broker,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "NEXUS_CELERY_QUEUE": queue,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    port = str(free_port())
    web = [
        port if part == "8000" else "127.0.0.1" if part == "0.0.0.0" else part
        for part in SERVICES["web"]["command"]
    ]
    worker = [*SERVICES["worker"]["command"], "-Q", queue, "--hostname", f"{queue}@localhost"]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        for command in (web, worker)
    ]
    try:

        def ready():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 30, "the web command's /readyz")
        checks = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["checks"]
        assert checks == {"database": "ok", "channel_layer": "ok", "broker": "ok"}
        app.conf.broker_url = broker
        try:
            wait_for(
                lambda: app.control.ping(destination=[f"{queue}@localhost"], timeout=1),
                30,
                "the worker command to answer a ping",
            )
        finally:
            app.conf.broker_url = ""
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)
