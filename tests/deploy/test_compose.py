"""No Docker engine here: check the compose file, the Dockerfile and nginx's
config against the project, and run the processes compose would start."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from django.core.management import get_commands
from websockets.asyncio.client import connect

from tests.servers import ROOT, free_port, wait_for
from tests.services import require_service

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP = ("migrate", "web", "sockets", "worker", "beat")


def settings_read_by_the_project() -> set[str]:
    pattern = re.compile(r"""(?:env_\w+|os\.environ\.get|os\.environ\[)\(?\s*["']([A-Z_]+)["']""")
    names = set()
    for package in ("nexus", "polls", "realtime"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def test_compose_has_every_service_with_health_checks_and_ordering():
    assert set(SERVICES) >= {
        "postgres",
        "redis",
        "rabbitmq",
        "web",
        "sockets",
        "worker",
        "beat",
        "nginx",
    }
    for name in ("postgres", "redis", "rabbitmq", "web", "sockets"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
    }
    for name in ("web", "sockets", "worker", "beat"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert SERVICES["nginx"]["depends_on"] == {
        "web": {"condition": "service_healthy"},
        "sockets": {"condition": "service_healthy"},
    }
    for name in ("web", "sockets"):  # scaled out: only nginx publishes a port
        assert "ports" not in SERVICES[name]
        assert SERVICES[name]["deploy"]["replicas"] >= 2
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


def test_every_app_command_exists_in_the_project():
    for name in APP:
        command = SERVICES[name]["command"]
        if command[0] in {"granian", "daphne"}:
            module = command[-1].removesuffix(":application")
            assert module in {"nexus.asgi", "nexus.wsgi"}
            assert (ROOT / f"{module.replace('.', '/')}.py").exists()
            if command[0] == "granian":  # the interface matches the module
                assert command[command.index("--interface") + 1] == module.split(".")[1]
                # a crashed worker is replaced, not the whole tier shut down
                assert "--respawn-failed-workers" in command
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
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for name in ("web", "sockets"):
        command = SERVICES[name]["command"]
        port = command[command.index("--port") + 1]
        assert SERVICES[name]["expose"] == [port]
        assert f"server {name}:{port}" in nginx
    assert "listen 80 sndbuf=32k;" in nginx
    assert SERVICES["nginx"]["ports"] == ["8080:80"]
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx


def test_the_dockerfile_is_slim_multi_stage_non_root_and_healthy():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.11-slim") == 2
    assert "USER nexus" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "collectstatic" in dockerfile
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1)
    assert yaml.safe_load(cmd) == SERVICES["sockets"]["command"]  # complete on its own


def test_the_dockerfile_copies_every_package_into_both_stages():
    """The wheel is built from the packages pyproject.toml lists and the app
    runs from their copies: a package left out (webhooks once was) is an
    image that cannot import its own settings."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert "webhooks" in packages
    build, runtime = dockerfile.split("\nFROM ", 2)[1:]
    for name in packages:
        assert f"COPY {name} ./{name}" in build, name
        assert f"COPY --chown=nexus {name} ./{name}" in runtime, name
    assert "COPY --chown=nexus locale ./locale" in runtime


def nginx_config(
    tmp_path, listen: int, web: tuple[int, ...] = (8000,), sockets: tuple[int, ...] = (8000,)
) -> list[str]:
    """deploy/nginx.conf with compose's host names replaced by local ports: one
    `server` line per replica, as compose's DNS gives nginx one address per
    replica. Its access log names the replica that served each request."""
    nginx = os.environ.get("NEXUS_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    require_service(Path(nginx).exists(), "nginx")

    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for name, ports in (("web", web), ("sockets", sockets)):
        line = re.search(rf"server {name}:8000([^;]*);", site)
        assert line, f"deploy/nginx.conf has no upstream line for {name}"
        options = line.group(1)
        site = site.replace(
            line.group(0), "\n    ".join(f"server 127.0.0.1:{port}{options};" for port in ports)
        )
    site = site.replace("listen 80 sndbuf=32k;", f"listen 127.0.0.1:{listen} sndbuf=32k;")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; daemon off;\n"
        f"events {{}}\nhttp {{ log_format upstream '$upstream_addr $request_uri';"
        f" access_log {tmp_path}/access.log upstream; include {tmp_path}/site.conf; }}\n"
    )
    return [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]


def test_nginx_accepts_the_config(tmp_path):
    result = subprocess.run(
        [*nginx_config(tmp_path, free_port()), "-t"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_compose_commands_run_for_real_behind_nginx(tmp_path):
    from django.db import connection

    from nexus.celery import app

    broker = os.environ.get("NEXUS_TEST_BROKER_URL", "")
    require_service(bool(broker), "RabbitMQ")
    require_service(connection.vendor == "postgresql", "Postgres")
    require_service(bool(os.environ.get("REDIS_URL")), "Redis")
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
    replicas = {name: SERVICES[name]["deploy"]["replicas"] for name in ("web", "sockets")}
    ports = {name: tuple(free_port() for _ in range(n)) for name, n in replicas.items()}
    proxy = free_port()

    def local(name: str, port: int) -> list[str]:
        return [
            str(port) if part == "8000" else "127.0.0.1" if part == "0.0.0.0" else part
            for part in SERVICES[name]["command"]
        ]

    worker = [*SERVICES["worker"]["command"], "-Q", queue, "--hostname", f"{queue}@localhost"]
    nginx = nginx_config(tmp_path, proxy, ports["web"], ports["sockets"])
    commands = [local(name, port) for name in ports for port in ports[name]]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        for command in (*commands, worker, nginx)
    ]
    everyone = [*ports["web"], *ports["sockets"], proxy]
    try:
        for port in everyone:
            wait_for(lambda port=port: ready(port), 30, f"/readyz on port {port}")
        for port in everyone:
            checks = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["checks"]
            assert checks == {"database": "ok", "channel_layer": "ok", "broker": "ok"}
        # Through nginx: votes go to the `web` replicas (WSGI), the screens'
        # upgrades to the `sockets` replicas (ASGI), and every vote reaches
        # every screen through Redis, whichever replicas took them.
        asyncio.run(votes_reach_every_screen(f"127.0.0.1:{proxy}", screens=4, votes=4))
        too_big = httpx.post(
            f"http://127.0.0.1:{proxy}/api/polls/",
            content=b"x" * (2 << 20),
            headers={"Content-Type": "application/json"},
        )  # refused by nginx, in Nexus's format
        assert (too_big.status_code, too_big.json()["code"]) == (413, "too_large")
        served = (tmp_path / "access.log").read_text()
        for port in (*ports["web"], *ports["sockets"]):
            assert f"127.0.0.1:{port} " in served, f"nginx sent nothing to replica :{port}"
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


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def votes_reach_every_screen(host: str, *, screens: int, votes: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        name = f"compose{uuid.uuid4().hex[:8]}"
        token = (
            await http.post(
                "/api/auth/register/", json={"username": name, "password": "compose-horse-9"}
            )
        ).json()["token"]
        poll = (
            await http.post(
                "/api/polls/",
                json={"question": "Routed?", "choices": ["yes", "no"]},
                headers={"Authorization": f"Token {token}"},
            )
        ).json()
        sockets = [await connect(f"ws://{host}/ws/polls/{poll['id']}/") for _ in range(screens)]
        try:
            for ws in sockets:
                assert json.loads(await ws.recv())["total_votes"] == 0
            for _ in range(votes):  # a new connection each: nginx spreads them
                async with httpx.AsyncClient(base_url=f"http://{host}") as voter:
                    vote = await voter.post(
                        poll["urls"]["vote"], json={"choices": [poll["choices"][0]["id"]]}
                    )
                    assert vote.status_code == 201, vote.text
            for ws in sockets:
                shown = 0
                while shown < votes:  # states coalesce: wait for the newest
                    shown = json.loads(await asyncio.wait_for(ws.recv(), 10))["total_votes"]
                assert shown == votes
        finally:
            for ws in sockets:
                await ws.close()
