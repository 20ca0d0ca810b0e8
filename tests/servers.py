"""Real server processes for end-to-end tests (the production ASGI server)."""

import atexit
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


POLL_INTERVAL = 0.05  # how often a deadline wait looks again


def wait_for(predicate, timeout: float, what: str) -> None:
    """Wait for a condition, failing at the deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_INTERVAL)


@functools.cache
def collected_static() -> str:
    """Production's static files, collected once per run for every server."""
    root = tempfile.mkdtemp(prefix="nexus-static-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    env = {**os.environ, "NEXUS_STATIC_ROOT": root, "DEBUG": "0"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return root


def server_env(database_url: str, redis_url: str | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "NEXUS_PUBLIC_URL")}
    env.update(
        NEXUS_STARTUP_CHECKS="1",
        NEXUS_STATIC_ROOT=collected_static(),
        # The test process's key: tests sign voter ids as the server would
        # (tests.helpers.voter_id).
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="0",
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        NEXUS_THROTTLE_ANON="1000000/min",
        NEXUS_THROTTLE_ANON_IP="1000000/min",
        NEXUS_THROTTLE_USER="1000000/min",
        NEXUS_THROTTLE_SIGNUPS="1000000/hour",
    )
    env.update(extra)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )


def server_command(kind: str, port: int, *args: str) -> list[str]:
    """The servers Nexus runs under: daphne (development), granian (production's
    sockets) and granian-wsgi (production's REST API)."""
    if kind == "daphne":
        return [
            str(BIN / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *args,
            "nexus.asgi:application",
        ]
    interface = "wsgi" if kind == "granian-wsgi" else "asgi"
    return [
        str(BIN / "granian"),
        "--interface",
        interface,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        *args,
        f"nexus.{interface}:application",
    ]


class Server:
    """One server process, as production runs it."""

    def __init__(self, env: dict, *args: str, port: int | None = None, kind: str = "daphne"):
        self.kind = kind
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        fd, self.log_path = tempfile.mkstemp(prefix="nexus-e2e-", suffix=".log")
        self.process = subprocess.Popen(
            server_command(kind, self.port, *args),
            cwd=ROOT,
            env={"NEXUS_PUBLIC_URL": self.url, **env},
            stdout=fd,
            stderr=subprocess.STDOUT,
        )
        os.close(fd)
        wait_for(self._ready, 30, f"server on port {self.port}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server exited:\n{self.output()}")
        try:
            return httpx.get(f"{self.url}/api/polls/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RedisServer:
    """A redis-server of the test's own, on a spare port, to stop and restart."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, f"redis on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
