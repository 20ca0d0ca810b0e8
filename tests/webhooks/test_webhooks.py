"""Webhooks: saved with the SSRF guard, written with what they announce,
sent by the sweep to a real receiver that checks every signature."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from polls.models import Poll
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, vote
from tests.servers import wait_for
from webhooks.api import WebhookTestThrottle
from webhooks.models import Delivery, Webhook
from webhooks.sweep import webhooks_sweep

from .receiver import Receiver

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hook"  # a public address: no DNS needed


@pytest.fixture
def receiver(settings):
    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = True
    settings.NEXUS_WEBHOOK_RETRY_SECONDS = 1
    receiver = Receiver().start()
    yield receiver
    receiver.close()


def hook_for(api, receiver, events=("poll.closed", "poll.results")) -> dict:
    response = api.post(
        "/api/webhooks/", {"url": receiver.url, "events": list(events)}, format="json"
    )
    assert response.status_code == 201, response.json()
    receiver.secret = response.json()["secret"]
    return response.json()


def sweep_until(predicate, timeout: float, what: str) -> None:
    """Run the worker's sweep until `predicate` holds, failing at the deadline."""
    wait_for(lambda: webhooks_sweep() is not None and predicate(), timeout, what)


def deliveries(api, hook: dict, **query) -> list[dict]:
    response = api.get(f"/api/webhooks/{hook['id']}/deliveries/", query)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_a_new_hook_shows_its_secret_once(owner_api):
    created = owner_api.post(
        "/api/webhooks/",
        {"url": PUBLIC, "events": ["poll.closed"], "description": "CRM"},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 50
    shown = owner_api.get(f"/api/webhooks/{body['id']}/").json()
    assert shown == {k: v for k, v in body.items() if k != "secret"}
    assert shown["active"] is True and shown["events"] == ["poll.closed"]
    listed = owner_api.get("/api/webhooks/").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]


def test_a_polls_close_reaches_a_real_receiver_signed_with_the_final_results(
    api, owner_api, user, receiver
):
    hook = hook_for(owner_api, receiver)
    poll = make_poll(owner=user)
    red, green, _ = choice_ids(poll)
    for n, choice in enumerate([red, red, green]):
        assert vote(api, poll.id, [choice], voter=f"v{n}").status_code == 201
    assert owner_api.post(f"/api/polls/{poll.id}/close/").status_code == 200

    sweep_until(lambda: len(receiver.verified) == 2, 10, "poll.closed and poll.results")
    assert all(r.verified for r in receiver.received)
    closed, results = receiver.of_type("poll.closed")[0], receiver.of_type("poll.results")[0]
    assert closed["data"] == {
        "poll": poll.id,
        "question": "Which colour?",
        "status": "closed",
        "version": Poll.objects.get(pk=poll.id).version,
        "total_votes": 3,
    }
    assert results["data"] == {
        "poll": poll.id,
        "results": owner_api.get(f"/api/polls/{poll.id}/results/").json(),
    }
    log = deliveries(owner_api, hook)
    assert {d["event"] for d in log} == {"poll.closed", "poll.results"}
    assert all(d["status"] == "delivered" and d["response_status"] == 200 for d in log)
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(
        d["id"] for d in log
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[fd00:ec2::254]/hook", "private"),
        ("https://100.64.0.1/hook", "public"),
        ("https://0.0.0.0/hook", "private"),
        ("https://224.0.0.1/hook", "public"),
        ("https://2130706433/hook", "loopback"),  # 127.0.0.1 written as a number
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://user:secret@93.184.215.14/hook", "password"),
        ("https://nexus-no-such-host.invalid/hook", "resolve"),
        ("https://93.184.215.14:99999/hook", "port"),
        ("https://93.184.215.14:22/hook", "port 443 or 8443"),  # no scans of other services
        ("https://[fec0::1]/hook", "private"),
        ("https://93.184.215.14/ho ok", "spaces"),
        ("https:///hook", "host"),
    ],
)
def test_a_hook_to_a_forbidden_address_is_refused_with_the_reason(owner_api, url, reason):
    response = owner_api.post(
        "/api/webhooks/", {"url": url, "events": ["poll.closed"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert reason in response.json()["fields"]["url"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://93.184.215.14/" + "a" * 2000, "events": ["poll.closed"]},
        {"url": "https://93.184.215.14/\x00", "events": ["poll.closed"]},
        {"url": 12, "events": ["poll.closed"]},
        {"url": ["https://93.184.215.14/"], "events": ["poll.closed"]},
        {"url": {"nested": {"deeper": PUBLIC}}, "events": ["poll.closed"]},
        {"url": PUBLIC, "events": []},
        {"url": PUBLIC, "events": "poll.closed"},
        {"url": PUBLIC, "events": ["poll.deleted"]},
        {"url": PUBLIC, "events": ["poll.closed", "poll.closed"]},
        {"url": PUBLIC, "events": [None]},
        {"url": PUBLIC, "events": [["poll.closed"]]},
        {"url": PUBLIC, "events": ["poll.closed"], "description": "x" * 201},
        {"url": PUBLIC, "events": ["poll.closed"], "description": "a\x00b"},
        {"events": ["poll.closed"]},
    ],
)
def test_a_hostile_hook_body_is_refused_and_saves_nothing(owner_api, body):
    response = owner_api.post("/api/webhooks/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not Webhook.objects.exists()


def test_a_hook_to_127_0_0_1_is_refused_by_default_at_delivery_too(
    owner_api, user, receiver, settings
):
    """Saved while private targets were allowed (or a name that resolved
    elsewhere then): every attempt checks again, and nothing is sent; nor
    over plain http once that is no longer allowed."""
    response = owner_api.post(
        "/api/webhooks/",
        {"url": "https://127.0.0.1:8443/hook", "events": ["poll.closed", "poll.results"]},
        format="json",
    )
    assert response.status_code == 201
    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = False
    poll = make_poll(owner=user)
    owner_api.post(f"/api/polls/{poll.id}/close/")
    webhooks_sweep()
    attempted = Delivery.objects.filter(attempts=1)
    assert attempted.count() == 2
    assert {d.error for d in attempted} == {"refused: 127.0.0.1 resolves to a loopback address."}
    plain = Webhook.objects.create(
        owner=user, url=receiver.url, events=["poll.closed"], secret="whsec_c2VjcmV0"
    )
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    webhooks_sweep()
    assert Delivery.objects.get(webhook=plain).error == "refused: Must start with https://."
    assert receiver.received == []


def test_dns_rebinding_to_loopback_is_refused_at_delivery(owner_api, user, receiver, settings):
    response = owner_api.post(
        "/api/webhooks/",
        {"url": "https://localhost:8443/", "events": ["poll.closed"]},
        format="json",
    )
    assert response.status_code == 201
    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = False
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    webhooks_sweep()
    delivery = Delivery.objects.get()
    assert delivery.error == "refused: localhost resolves to a loopback address."
    assert receiver.received == []


def test_a_receiver_down_for_30_seconds_gets_the_delivery_after_it_returns(
    owner_api, user, receiver
):
    hook = hook_for(owner_api, receiver, events=["poll.closed"])
    receiver.stop()
    poll = make_poll(owner=user)
    owner_api.post(f"/api/polls/{poll.id}/close/")
    down_until = time.monotonic() + 30  # the receiver's outage, swept as the worker does
    sweep_until(lambda: time.monotonic() >= down_until, 40, "the end of the outage")
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts >= 4
    assert delivery.error == "could not connect, or the connection broke"

    receiver.start()
    sweep_until(lambda: len(receiver.verified) == 1, 40, "the delivery after the outage")
    assert receiver.of_type("poll.closed")[0]["data"]["poll"] == poll.id
    [logged] = deliveries(owner_api, hook)
    assert logged["status"] == "delivered" and logged["attempts"] >= 5


def test_a_failing_receiver_is_retried_with_waits_that_double(owner_api, user, receiver):
    receiver.status = 500
    hook_for(owner_api, receiver, events=["poll.closed"])
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    waits = []
    for _ in range(4):
        webhooks_sweep()
        delivery = Delivery.objects.get()
        waits.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
        Delivery.objects.update(next_attempt_at=timezone.now())  # its time has come
    for wait, expected in zip(waits, [1, 2, 4, 8], strict=True):  # 1 s * 2**n, ±10%
        assert 0.9 * expected - 0.01 <= wait <= 1.1 * expected + 0.01
    assert delivery.error == "answered 500" and delivery.response_status == 500
    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # one message, retried


def test_a_redirect_is_not_followed(owner_api, user, receiver):
    receiver.status = 307
    hook_for(owner_api, receiver, events=["poll.closed"])
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    webhooks_sweep()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.error == "answered 307"


def test_vote_batches_come_at_most_once_a_second_per_poll_with_the_newest_tally(
    api, owner_api, user, receiver
):
    hook_for(owner_api, receiver, events=["vote.batch"])
    poll = make_poll(owner=user)
    red, green, _ = choice_ids(poll)
    for n in range(6):
        assert vote(api, poll.id, [red if n % 3 else green], voter=f"v{n}").status_code == 201
        webhooks_sweep()  # many sweeps within a second: still one batch
    sweep_until(
        lambda: (
            receiver.of_type("vote.batch")
            and receiver.of_type("vote.batch")[-1]["data"]["total_votes"] == 6
        ),
        10,
        "the batch with all six votes",
    )
    batches = receiver.of_type("vote.batch")
    times = [Delivery.objects.get(pk=r.headers["webhook-id"]).created_at for r in receiver.received]
    assert all(b - a >= timedelta(seconds=1) for a, b in zip(times, times[1:], strict=False))
    versions = [b["data"]["version"] for b in batches]
    assert versions == sorted(set(versions))
    assert batches[-1]["data"] == {
        "poll": poll.id,
        "version": Poll.objects.get(pk=poll.id).version,
        "total_votes": 6,
        "choices": [
            {"id": red, "votes": 4},
            {"id": green, "votes": 2},
            {"id": choice_ids(poll)[2], "votes": 0},
        ],
    }


def test_a_down_receiver_has_one_waiting_batch_per_poll_and_gets_the_newest(
    api, owner_api, user, receiver
):
    hook = hook_for(owner_api, receiver, events=["vote.batch"])
    receiver.stop()
    poll = make_poll(owner=user)
    red = choice_ids(poll)[0]
    for n in range(4):
        vote(api, poll.id, [red], voter=f"v{n}")
        cursor_aged(poll.id, 2)  # a second has passed since the last batch
        webhooks_sweep()
        Delivery.objects.update(next_attempt_at=timezone.now())
    pending = Delivery.objects.filter(status="pending")
    assert pending.count() == 1 and pending.get().attempts >= 3  # back-off carried over
    receiver.start()
    sweep_until(lambda: len(receiver.verified) == 1, 10, "the newest batch")
    assert receiver.verified[0]["data"]["total_votes"] == 4
    assert [d["status"] for d in deliveries(owner_api, hook)] == ["delivered"]


def cursor_aged(poll_id: str, seconds: int) -> None:
    from webhooks.models import BatchCursor

    BatchCursor.objects.filter(poll_id=poll_id).update(
        sent_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_hook_failing_for_too_long_is_switched_off_and_its_owner_emailed(
    owner_api, user, receiver, settings, django_capture_on_commit_callbacks
):
    settings.NEXUS_WEBHOOK_DISABLE_AFTER = 60
    receiver.status = 500
    hook = hook_for(owner_api, receiver, events=["poll.closed", "poll.opened"])
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    webhooks_sweep()
    assert Webhook.objects.get().failing_since is not None and mail.outbox == []
    Webhook.objects.update(failing_since=timezone.now() - timedelta(seconds=61))
    make_poll(owner=user, question="Another?")  # poll.opened, pending beside the retry
    Delivery.objects.update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_sweep()

    shown = owner_api.get(f"/api/webhooks/{hook['id']}/").json()
    assert shown["active"] is False and shown["disabled_reason"].startswith("Every delivery")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
    [email] = mail.outbox
    assert email.to == [user.email] and receiver.url in email.body
    # Nothing more goes out, however many events come
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    assert Delivery.objects.filter(status="pending").count() == 0

    on = owner_api.patch(f"/api/webhooks/{hook['id']}/", {"active": True}, format="json").json()
    assert on["active"] is True and on["failing_since"] is None and on["disabled_reason"] == ""


def test_only_the_owners_polls_reach_a_hook(owner_api, receiver):
    hook_for(owner_api, receiver, events=["poll.closed", "poll.opened", "vote.batch"])
    stranger = UserFactory()
    poll = make_poll(owner=stranger)
    vote(client_for(stranger), poll.id, [choice_ids(poll)[0]])
    client_for(stranger).post(f"/api/polls/{poll.id}/close/")
    webhooks_sweep()
    assert not Delivery.objects.exists() and receiver.received == []


def test_a_drafts_opening_and_a_timed_close_are_announced(owner_api, user, receiver):
    hook_for(owner_api, receiver, events=["poll.opened", "poll.closed"])
    never = make_poll(owner=user, status=Poll.Status.DRAFT, question="Never opened?")
    owner_api.post(f"/api/polls/{never.id}/close/")  # a draft closed: nothing to announce
    draft = make_poll(owner=user, status=Poll.Status.DRAFT)
    assert not Delivery.objects.exists()
    owner_api.patch(f"/api/polls/{draft.id}/", {"status": "open"}, format="json")
    Poll.objects.filter(pk=draft.id).update(closes_at=timezone.now() - timedelta(seconds=1))
    from polls.services.timing import polls_sweep

    assert polls_sweep() == 1
    sweep_until(lambda: len(receiver.verified) == 2, 10, "opened and closed")
    assert [p["type"] for p in receiver.verified] == ["poll.opened", "poll.closed"]


def test_the_delivery_log_is_the_owners_alone(owner_api, other_api, api, user, receiver):
    hook = hook_for(owner_api, receiver)
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    path = f"/api/webhooks/{hook['id']}/"
    assert other_api.get(path + "deliveries/").status_code == 404
    assert other_api.get(path).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.post(path + "test/").status_code == 404
    assert other_api.patch(path, {"url": PUBLIC}, format="json").status_code == 404
    assert api.get(path + "deliveries/").status_code == 401
    assert api.get("/api/webhooks/").status_code == 401
    assert owner_api.get(path + "deliveries/", {"status": "bogus"}).status_code == 400
    assert [d["status"] for d in deliveries(owner_api, hook, status="pending")] == ["pending"] * 2
    assert deliveries(owner_api, hook, status="delivered") == []
    assert Webhook.objects.filter(pk=hook["id"]).exists()
    assert owner_api.delete(path).status_code == 204
    assert not Delivery.objects.exists()


def test_a_test_event_reaches_the_receiver_and_is_rate_limited(owner_api, receiver, monkeypatch):
    monkeypatch.setattr(WebhookTestThrottle, "rate", "2/min", raising=False)
    hook = hook_for(owner_api, receiver, events=["poll.closed"])
    sent = owner_api.post(f"/api/webhooks/{hook['id']}/test/")
    assert sent.status_code == 202 and sent.json()["event"] == "webhook.test"
    assert sent.json()["status"] == "pending"
    sweep_until(lambda: len(receiver.verified) == 1, 10, "the test event")
    assert receiver.verified[0]["data"] == {
        "webhook": hook["id"],
        "message": "A test event from Nexus.",
    }
    assert owner_api.post(f"/api/webhooks/{hook['id']}/test/").status_code == 202
    third = owner_api.post(f"/api/webhooks/{hook['id']}/test/")
    assert third.status_code == 429 and third.json()["code"] == "throttled"


def test_edits_are_checked_like_a_new_hook(owner_api, receiver, settings):
    hook = hook_for(owner_api, receiver)
    path = f"/api/webhooks/{hook['id']}/"
    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = False
    moved = owner_api.patch(path, {"url": "https://10.0.0.1/"}, format="json")
    assert moved.status_code == 400 and "private" in moved.json()["fields"]["url"]
    assert owner_api.patch(path, {}, format="json").status_code == 400
    assert owner_api.patch(path, {"events": ["nope"]}, format="json").status_code == 400
    assert Webhook.objects.get().url == receiver.url
    edited = owner_api.patch(path, {"url": PUBLIC, "events": ["vote.batch"]}, format="json")
    assert edited.status_code == 200 and edited.json()["events"] == ["vote.batch"]


def test_an_account_has_at_most_its_share_of_hooks(owner_api, settings):
    settings.NEXUS_WEBHOOKS_PER_USER = 2
    for _ in range(2):
        assert (
            owner_api.post(
                "/api/webhooks/", {"url": PUBLIC, "events": ["poll.closed"]}, format="json"
            ).status_code
            == 201
        )
    third = owner_api.post(
        "/api/webhooks/", {"url": PUBLIC, "events": ["poll.closed"]}, format="json"
    )
    assert third.status_code == 400 and "At most 2" in third.json()["detail"]


def test_a_down_receiver_never_grows_its_queue_past_the_cap(owner_api, user, receiver, settings):
    settings.NEXUS_WEBHOOK_MAX_PENDING = 10
    hook_for(owner_api, receiver, events=["poll.closed"])
    receiver.stop()
    for n in range(15):
        owner_api.post(f"/api/polls/{make_poll(owner=user, question=f'Q{n}?').id}/close/")
    assert Delivery.objects.filter(status="pending").count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_times_out_and_never_holds_up_a_vote(
    api, owner_api, user, receiver, settings
):
    settings.NEXUS_WEBHOOK_TIMEOUT = 2
    receiver.hang = 30
    hook_for(owner_api, receiver, events=["vote.batch"])
    poll = make_poll(owner=user)
    red = choice_ids(poll)[0]
    vote(api, poll.id, [red], voter="first")

    def sweep() -> None:  # as the worker's thread does, closing its connection after
        try:
            webhooks_sweep()
        finally:
            connection.close()

    sweeping = threading.Thread(target=sweep)
    started = time.monotonic()
    sweeping.start()
    wait_for(lambda: len(receiver.received) == 1, 5, "the receiver to be called")
    before = time.monotonic()
    assert vote(api, poll.id, [red], voter="second").status_code == 201
    assert time.monotonic() - before < 1.0 and sweeping.is_alive()  # voted while it hangs
    sweeping.join(10)
    assert 2 <= time.monotonic() - started < 5
    delivery = Delivery.objects.get()
    assert delivery.error == "no answer within 2 s" and delivery.status == "pending"


def test_a_scheduled_opening_is_announced_even_if_a_vote_comes_first(
    api, owner_api, user, receiver
):
    hook_for(owner_api, receiver, events=["poll.opened"])
    poll = make_poll(owner=user, opens_at=timezone.now() + timedelta(seconds=60))
    Poll.objects.filter(pk=poll.id).update(opens_at=timezone.now() - timedelta(seconds=1))
    assert vote(api, poll.id, [choice_ids(poll)[0]], voter="early").status_code == 201
    from polls.services.timing import polls_sweep

    assert polls_sweep() == 1
    assert polls_sweep() == 0  # once
    sweep_until(lambda: len(receiver.verified) == 1, 10, "poll.opened")
    assert receiver.verified[0]["data"]["poll"] == poll.id


def test_moving_an_open_polls_opens_at_into_the_past_is_no_second_opening(
    owner_api, user, receiver
):
    """Open since it was made; the owner then sets an opens_at a minute ago
    (after the announcement): still the one opening, nothing for the sweep."""
    hook_for(owner_api, receiver, events=["poll.opened"])
    poll = make_poll(owner=user)
    assert Delivery.objects.count() == 1
    Poll.objects.filter(pk=poll.id).update(open_announced_at=timezone.now() - timedelta(hours=1))
    moved = timezone.now() - timedelta(minutes=1)
    answer = owner_api.patch(
        f"/api/polls/{poll.id}/", {"opens_at": moved.isoformat()}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "open"
    from polls.services.timing import polls_sweep

    assert polls_sweep() == 0
    assert Delivery.objects.count() == 1


def test_a_receiver_s_own_words_never_reach_the_log(owner_api, user, receiver, settings):
    """A port that answers with a banner (an SSH server, say) is not read out."""
    import socket
    import threading as threads

    banner = socket.socket()
    banner.bind(("127.0.0.1", 0))
    banner.listen()

    def serve() -> None:
        conn, _ = banner.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.6p1 secret-banner\r\n")
        conn.recv(65536)
        conn.close()

    threads.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{banner.getsockname()[1]}/"
    assert (
        owner_api.post(
            "/api/webhooks/", {"url": url, "events": ["poll.closed"]}, format="json"
        ).status_code
        == 201
    )
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    webhooks_sweep()
    delivery = Delivery.objects.get()
    banner.close()
    assert delivery.error == "the answer was not HTTP" and "secret" not in delivery.error


def test_an_internationalised_host_is_checked_and_reached_as_one_name(owner_api, settings):
    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = False
    answer = owner_api.post(
        "/api/webhooks/",
        {"url": "https://bücher.invalid/hook", "events": ["poll.closed"]},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["fields"]["url"] == "xn--bcher-kva.invalid does not resolve."


def test_switching_a_hook_off_gives_up_its_pending_deliveries(owner_api, user, receiver):
    hook = hook_for(owner_api, receiver, events=["poll.closed"])
    receiver.stop()
    owner_api.post(f"/api/polls/{make_poll(owner=user).id}/close/")
    off = owner_api.patch(f"/api/webhooks/{hook['id']}/", {"active": False}, format="json")
    assert off.status_code == 200 and off.json()["active"] is False
    assert list(Delivery.objects.values_list("status", "error")) == [
        ("failed", "the webhook was switched off")
    ]


def test_a_new_vote_batch_hook_is_not_told_about_old_polls(api, owner_api, user, receiver):
    old = make_poll(owner=user, question="Last year?")
    vote(api, old.id, [choice_ids(old)[0]], voter="then")
    Poll.objects.filter(pk=old.id).update(updated_at=timezone.now() - timedelta(minutes=5))
    hook_for(owner_api, receiver, events=["vote.batch"])
    current = make_poll(owner=user)
    vote(api, current.id, [choice_ids(current)[0]], voter="now")
    webhooks_sweep()
    assert list(Delivery.objects.values_list("poll_id", flat=True)) == [current.id]


def test_hook_writes_are_rate_limited_per_account(owner_api, monkeypatch):
    from webhooks.api import WebhookWriteThrottle

    monkeypatch.setattr(WebhookWriteThrottle, "rate", "2/min", raising=False)
    body = {"url": PUBLIC, "events": ["poll.closed"]}
    assert owner_api.post("/api/webhooks/", body, format="json").status_code == 201
    assert owner_api.post("/api/webhooks/", body, format="json").status_code == 201
    third = owner_api.post("/api/webhooks/", body, format="json")
    assert third.status_code == 429 and Webhook.objects.count() == 2
    assert owner_api.get("/api/webhooks/").status_code == 200  # reads are not counted
