"""Hostile requests against every operation of a running Nexus: the inputs a
schema-driven fuzzer never sends (scripts/fuzz-api.sh sends what the schema
describes). Each must get a 4xx in the contract's JSON shape, never a 5xx,
and nothing may be written.

    NEXUS_URL=http://127.0.0.1:8000 .venv/bin/python scripts/fuzz-hostile.py

Per operation in /api/schema/ (path ids filled with a real poll, choice and
token), and for /graphql/: a body over the 1 MiB limit, 100,000 nested
brackets, NUL and other control characters in every top-level string field
and in the query string, odd content types, and odd methods. Exits non-zero,
listing each failure, if any answer is a 5xx or not JSON.

Run it against granian (production's server, as CI does): daphne's HTTP
layer (Twisted) refuses a malformed multipart body itself, with an empty
400, before Nexus sees the request.
"""

import argparse
import json
import os
import re
import sys
import uuid

import httpx

CONTROL = ["a\x00b", "a\x07b", "\x1b[31m", "a\x7fb", "a\x85b"]
ODD_TYPES = ["text/plain", "application/xml", "multipart/form-data; boundary=x", "", "*/*"]
ODD_METHODS = ["TRACE", "FOO", "PROPFIND", "M-SEARCH"]  # and writes without a token


def main(url: str) -> int:
    client = httpx.Client(base_url=url, timeout=30)
    name = f"hostile-{uuid.uuid4().hex[:10]}"
    token = client.post(
        "/api/auth/register/", json={"username": name, "password": uuid.uuid4().hex}
    ).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    poll = client.post(
        "/api/polls/", headers=auth, json={"question": "Hostile?", "choices": ["a", "b"]}
    ).json()
    ids = {"poll_id": poll["id"], "id": poll["id"], "choice_id": str(poll["choices"][0]["id"])}
    before = count(client, auth, poll["id"])
    schema = client.get(
        "/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    ).json()
    failures: list[str] = []
    sent = 0

    def check(method: str, path: str, *, alone: bool = False, **kwargs) -> None:
        """`alone`: on a connection of its own (a server may close one that
        sent more than it read, as after a 413)."""
        nonlocal sent
        sent += 1
        if alone:
            with httpx.Client(base_url=url, timeout=30) as own:
                response = own.request(method, path, **kwargs)
        else:
            response = client.request(method, path, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and (path.startswith(("/api/", "/graphql/"))):
            try:
                body = response.json()
                assert isinstance(body, dict) and ("code" in body or "errors" in body)
            except (ValueError, AssertionError):
                failures.append(
                    f"{method} {path} ({kwargs.get('headers', {}).get('Content-Type')}):"
                    f" {response.status_code} not JSON: {response.text[:80]!r}"
                )

    operations = [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], "X"), path), spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    graphql = {"x-fields": ["query", "operationName"], "requestBody": {}}
    operations.append(("POST", "/graphql/", graphql))
    for method, path, spec in operations:
        for headers in ({}, auth):
            check(method, path + "?q=%00&search=a%00b", headers=headers)
            if method in {"GET", "DELETE"} or (headers and "requestBody" not in spec):
                continue  # an action that reads no body (open, reset) would just run
            as_json = {**headers, "Content-Type": "application/json"}
            check(method, path, headers=as_json, content=b"[" * 100_000)
            huge = b'{"a": "' + b"x" * (2 << 20) + b'"}'
            check(method, path, alone=True, headers=as_json, content=huge)
            for text in CONTROL:
                body = {field: text for field in fields(schema, spec)} or {"x": text}
                check(method, path, headers=as_json, content=json.dumps(body))
            for content_type in ODD_TYPES:
                check(
                    method, path, headers={**headers, "Content-Type": content_type}, content="a=1"
                )
        for odd in ODD_METHODS:
            check(odd, path, headers=auth)
        for write in ("PUT", "PATCH", "DELETE"):
            check(write, path)
    after = count(client, auth, poll["id"])
    if after != before:
        failures.append(f"the hostile requests changed something: {before} -> {after}")
    print(
        f"fuzz-hostile: {sent} requests over {len(operations)} operations, {len(failures)} failures"
    )
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


def fields(schema: dict, spec: dict) -> list[str]:
    """The top-level properties of an operation's JSON body."""
    if "x-fields" in spec:
        return spec["x-fields"]
    content = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    component = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return list(component.get("properties", {}))


def count(client: httpx.Client, auth: dict, poll_id: str) -> tuple:
    poll = client.get(f"/api/polls/{poll_id}/", headers=auth).json()
    mine = client.get("/api/polls/", headers=auth, params={"mine": "true"}).json()
    total = mine.get("count", len(mine.get("results", []))) if isinstance(mine, dict) else len(mine)
    results = client.get(f"/api/polls/{poll_id}/results/", headers=auth).json()
    return json.dumps(poll, sort_keys=True), json.dumps(results, sort_keys=True), total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NEXUS_URL", "http://127.0.0.1:8000"))
    sys.exit(main(parser.parse_args().url))
