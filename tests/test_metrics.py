"""GET /metrics: off by default, Bearer-protected, and its counters match a scripted workload."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys

import psutil
import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from megamsg import keys
from megamsg.queues import queue
from megamsg.web import create_app
from tests.conftest import auth_headers, wait_for
from tests.processes import REPO, ProcessGroup, child_env

TOKEN = "metrics-token-for-tests"


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted label pairs): value} from Prometheus text, parsed by prometheus_client."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: dict, name: str, **labels) -> float:
    """Sum over every sample of name whose labels include these."""
    return sum(v for (n, pairs), v in found.items() if n == name and set(labels.items()) <= set(pairs))


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}", "Bearer wrong"])
def test_metrics_are_off_by_default_404_whatever_is_sent(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.get("/metrics", headers=headers)
    unknown = client.get("/no-such-page", headers=headers)
    assert answer.status_code == 404 and answer.data == unknown.data


@pytest.fixture
def metrics_app(config_overrides):
    return create_app({**config_overrides, "METRICS_TOKEN": TOKEN})


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer wrong",
        f"Bearer {TOKEN}x",
        TOKEN,
        f"Basic {TOKEN}",
        f"bearer {TOKEN}",
        f"Bearer  {TOKEN}",
    ],
)
def test_metrics_need_the_exact_bearer_token_with_one_uniform_401(metrics_app, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = metrics_app.test_client().get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert (
        answer.get_data(as_text=True) == "Unauthorized: send Authorization: Bearer <MEGAMSG_METRICS_TOKEN>.\n"
    )


def test_queue_depths_and_instances_by_status_are_read_at_scrape_time(metrics_app, make_instance):
    first, _ = make_instance("One")
    make_instance("Two")
    config = dict(metrics_app.config)
    for n in range(3):
        queue(config, keys.EVENTS_QUEUE).enqueue("megamsg.delivery.events.handle_event", n)
    queue(config, keys.session_queue(first["id"])).enqueue(
        "megamsg.runtime.session_jobs.send", first["id"], {}
    )

    answer = metrics_app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 200 and answer.content_type.startswith("text/plain; version=")
    found = samples(answer.get_data(as_text=True))
    assert value(found, "megamsg_queue_depth", queue="events") == 3
    assert value(found, "megamsg_queue_depth", queue=keys.session_queue(first["id"])) == 1
    assert all(value(found, "megamsg_queue_depth", queue=name) == 0 for name in keys.webhook_queues(config))
    # No runner publishes a state (no worker runs): both read as starting.
    assert value(found, "megamsg_instances", status="starting") == 2
    assert value(found, "megamsg_instances", status="connected") == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_urls(app):
    """Webhooks to the loopback receiver are allowed, metrics on (before any process starts)."""
    app.config["ALLOW_PRIVATE_URLS"] = True
    app.config["METRICS_TOKEN"] = TOKEN


@pytest.fixture
def gunicorn(app, private_urls):
    """The web under gunicorn (2 workers, multiprocess metrics) on a free port."""
    port = free_port()
    group = ProcessGroup(dict(app.config))
    group.processes.append(
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "app:app"],
            cwd=REPO,
            env=child_env(dict(app.config)),
            start_new_session=True,
            stderr=subprocess.DEVNULL,
        )
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, 30, what="gunicorn answering")
    yield base
    group.stop_all()


def test_metrics_after_a_scripted_workload_match_what_it_did(
    app, private_urls, gunicorn, supervisors, make_instance, scripted_receiver
):
    linked, token = make_instance("Linked")
    make_instance("Never scanned")
    headers = auth_headers(linked["id"], token)
    supervisor = supervisors.start()
    http = requests.Session()

    def status() -> str:
        return http.get(f"{gunicorn}/api/whatsapp/instance", headers=headers, timeout=5).json()["status"]

    wait_for(lambda: status() == "qr", 30, what="a QR code")
    scan = {"phone_number": "+201000000001", "push_name": "Gateway"}
    assert (
        http.post(f"{gunicorn}/api/simulator/scan", headers=headers, json=scan, timeout=10).status_code == 200
    )
    wait_for(lambda: status() == "connected", 30, what="connected")
    hook = http.put(
        f"{gunicorn}/api/whatsapp/instance/webhook", headers=headers, json={"url": scripted_receiver.url}
    )
    assert hook.status_code == 200
    scripted_receiver.answer(500, default=200)  # the first attempt fails, its retry and the rest succeed

    send = f"{gunicorn}/api/whatsapp/messages/send"
    for n in range(3):
        assert http.post(send, headers=headers, json={"phone_number": "+201000000002", "text": f"m{n}"}).ok
    assert http.post(f"{gunicorn}/api/simulator/fail-next", headers=headers, json={}).status_code == 200
    assert (
        http.post(send, headers=headers, json={"phone_number": "+201000000002", "text": "x"}).status_code
        == 502
    )
    for n in range(2):
        incoming = {"from": "+201000000003", "text": f"in {n}"}
        assert (
            http.post(f"{gunicorn}/api/simulator/incoming", headers=headers, json=incoming).status_code == 200
        )

    database = app.config["DATABASE"]

    def deliveries_settled() -> bool:
        raw = sqlite3.connect(database)
        busy = raw.execute(
            "SELECT count(*) FROM webhook_events WHERE status IN ('pending', 'delivering')"
        ).fetchone()[0]
        raw.close()
        return busy == 0 and len(scripted_receiver.requests) >= 7  # 4 statuses, 2 messages, 1 retry

    wait_for(deliveries_settled, 30, what="every webhook delivered")
    from megamsg.runtime.lease import lease_holder

    holder = lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), linked["id"])
    runner = next(
        p for p in psutil.Process(supervisor.pid).children() if holder and p.pid == int(holder.split(":")[1])
    )
    os.kill(runner.pid, signal.SIGKILL)

    def scrape() -> dict:
        answer = http.get(f"{gunicorn}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert answer.status_code == 200
        return samples(answer.text)

    found = wait_for(
        lambda: (
            (f := scrape()) and value(f, "megamsg_runner_restarts_total", instance=linked["id"]) == 1 and f
        ),
        30,
        what="the runner restart counted",
    )
    mine = {"instance": linked["id"], "type": "text"}
    assert value(found, "megamsg_sends_total", outcome="sent", **mine) == 3
    assert value(found, "megamsg_sends_total", outcome="failed", **mine) == 1
    assert value(found, "megamsg_send_wait_seconds_count", type="text") == 4
    assert value(found, "megamsg_send_wait_seconds_bucket", type="text", le="+Inf") == 4
    raw = sqlite3.connect(database)
    attempts, ok, refused = raw.execute(
        "SELECT count(*), sum(status_code BETWEEN 200 AND 299), sum(status_code = 500) FROM webhook_deliveries"
    ).fetchone()
    raw.close()
    assert total(found, "megamsg_webhook_deliveries_total") == attempts == len(scripted_receiver.requests)
    assert value(found, "megamsg_webhook_deliveries_total", outcome="delivered") == ok
    assert value(found, "megamsg_webhook_deliveries_total", outcome="pending") == refused == 1
    assert value(found, "megamsg_webhook_delivery_seconds_count") == attempts
    assert value(found, "megamsg_instances", status="qr") == 1  # the one never scanned
    assert total(found, "megamsg_instances") == 2
    assert {
        value(found, "megamsg_queue_depth", queue=q) for q in ("events", *keys.webhook_queues(app.config))
    } == {0}
