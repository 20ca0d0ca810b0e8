"""The live path's modules import one way (docs/REALTIME.md), and an ASGI
process binds its loop for the coalescer at lifespan startup."""

import ast
import asyncio
from pathlib import Path

REALTIME = Path(__file__).resolve().parents[2] / "realtime"

# module -> the realtime modules it may import
ALLOWED = {
    "states": set(),
    "snapshots": {"states"},
    "publish": {"buffers", "snapshots", "states"},
    "buffers": set(),
    "hub": {"snapshots", "states"},
    "auth": set(),
    "budget": set(),
    "consumers": {"auth", "budget", "hub", "states"},
    "graphql_ws": {"budget"},
    "streams": {"consumers", "hub", "snapshots", "states"},
    "routing": {"consumers", "graphql_ws"},
}


def realtime_imports(module: str) -> set[str]:
    tree = ast.parse((REALTIME / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found |= {node.module} if node.module else {a.name for a in node.names}
            elif (node.module or "").startswith("realtime"):
                found.add(node.module.partition(".")[2] or node.names[0].name)
        elif isinstance(node, ast.Import):
            found |= {
                a.name.partition(".")[2] for a in node.names if a.name.startswith("realtime.")
            }
    return found


def test_the_live_path_imports_one_way():
    found = {module: realtime_imports(module) for module in ALLOWED}
    assert found == ALLOWED  # publish and hub meet only in the channel layer
    assert {p.stem for p in REALTIME.glob("*.py")} - {"__init__", "apps"} == set(ALLOWED)


async def test_an_asgi_process_binds_its_loop_at_lifespan_startup():
    from nexus.asgi import application
    from realtime import publish

    publish.bind_loop(None)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict] = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    await application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert publish._bound is not None and publish._bound[0] is asyncio.get_running_loop()
    publish.bind_loop(None)
