"""Issue 12 item 4: worker hosts that need only Redis serve their share of the instances."""

import json
import os
import time

import psutil
import pytest
import redis

from megamsg import instance_registry, keys
from megamsg.runtime.lease import lease_holder
from megamsg.session_state import mark_deleted
from megamsg.store.instances import delete_instance
from tests.account_support import key_headers, make_key
from tests.conftest import auth_headers, csrf_from, login, outbox, wait_for
from tests.test_instances import create_via_dashboard
from tests.test_runtime import runner_processes, session_workers


def lease_holder_pid(connection: redis.Redis, instance_id: str) -> int | None:
    holder = lease_holder(connection, instance_id)
    return int(holder.split(":")[1]) if holder else None


def recorded(app) -> dict[str, str]:
    raw = redis.Redis.from_url(app.config["REDIS_URL"]).hgetall(keys.INSTANCES)
    return {key.decode(): value.decode() for key, value in raw.items()}


def test_every_create_and_delete_path_records_the_instance_in_redis(app, client, make_user, db):
    make_user("owner@example.com")
    tag = instance_registry.owner_tag(app.config)
    # The dashboard.
    login(client, "owner@example.com")
    from_dashboard, _ = create_via_dashboard(client, "Dashboard")
    assert recorded(app) == {from_dashboard: tag}
    csrf = csrf_from(client.get(f"/instances/{from_dashboard}/delete").get_data(as_text=True))
    deleted = client.post(
        f"/instances/{from_dashboard}/delete", data={"csrf_token": csrf, "confirm_name": "Dashboard"}
    )
    assert deleted.status_code in (302, 303)
    assert recorded(app) == {}
    # The account API.
    headers = key_headers(make_key(app))
    created = client.post("/api/account/instances", headers=headers, json={"name": "Api"})
    assert created.status_code == 201, created.get_data(as_text=True)
    from_api = created.get_json()["instance_id"]
    assert recorded(app) == {from_api: tag}
    assert client.delete(f"/api/account/instances/{from_api}", headers=headers).status_code == 200
    assert recorded(app) == {}
    # The CLI.
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["megamsg", "instance", "create", "--name", "Cli", "--owner", "owner@example.com", "--json"]
    )
    from_cli = json.loads(made.output)["instance_id"]
    assert recorded(app) == {from_cli: tag}
    assert runner.invoke(args=["megamsg", "instance", "delete", from_cli, "--yes"]).exit_code == 0
    assert recorded(app) == {}
    assert db["instances"].count == 0


def test_repair_makes_the_record_match_sqlite_and_leaves_other_deployments_alone(app, make_instance):
    kept, _ = make_instance("Kept")
    missing, _ = make_instance("Missing")
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    tag = instance_registry.owner_tag(app.config)
    client.hset(keys.INSTANCES, mapping={kept["id"]: tag, "inst_stale": tag, "inst_theirs": "another-tag"})
    client.set(keys.deleted("inst_being_deleted"), "1")
    sqlite = {kept["id"], missing["id"], "inst_being_deleted"}
    assert instance_registry.repair(app.config, lambda: sqlite) == sqlite
    assert recorded(app) == {kept["id"]: tag, missing["id"]: tag, "inst_theirs": "another-tag"}


@pytest.fixture
def redis_only(tmp_path, app):
    """Environment of a worker host with its own, empty data directory and only the shared Redis."""
    data = tmp_path / "redis-only-host"
    data.mkdir()
    return {"MEGAMSG_DATA_DIR": str(data), "MEGAMSG_DATABASE": str(data / "megamsg.db")}


def test_a_supervisor_without_the_database_serves_the_instances_recorded_in_redis(
    app, client, make_instance, supervisors, redis_only, db
):
    instance, token = make_instance()
    instance_registry.register(app.config, instance["id"])
    supervisor = supervisors.start(**redis_only)
    wait_for(lambda: session_workers(app, instance["id"]), 20, what="the instance served")
    [runner] = runner_processes(supervisor)
    assert session_workers(app, instance["id"]) == [runner.pid]
    # Sessions only: no events or webhook worker, and no database of its own.
    assert len(psutil.Process(supervisor.pid).children()) == 1
    assert not os.path.exists(redis_only["MEGAMSG_DATABASE"])
    headers = auth_headers(instance["id"], token)
    wait_for(lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr", 20)
    # A deletion (on the host with the database) reaches it through Redis.
    mark_deleted(app.config, instance["id"])
    delete_instance(db, instance["id"])
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: lease_holder(connection, instance["id"]) is None, 15, what="the session to end")
    wait_for(lambda: not runner_processes(supervisor), 15, what="the empty runner to stop")


def test_drill_two_supervisors_one_redis_kill_9_one_and_the_other_serves_everything(
    app, client, make_instance, supervisors, redis_only
):
    rows = [make_instance(f"Number {n}") for n in range(3)]
    all_headers = [auth_headers(row["id"], token) for row, token in rows]
    # The host with the database serves everything first (and records the instances in Redis from
    # its SQLite); the worker host with only Redis comes second, its sessions waiting for the leases.
    with_database = supervisors.start()
    for n, headers in enumerate(all_headers):
        wait_for(
            lambda h=headers: client.get("/api/whatsapp/instance", headers=h).get_json()["status"] == "qr", 30
        )
        scanned = client.post(
            "/api/simulator/scan", headers=headers, json={"phone_number": f"+20100000000{n + 1}"}
        )
        assert scanned.status_code == 200
    connection = redis.Redis.from_url(app.config["REDIS_URL"])

    def holders() -> set[int | None]:
        return {lease_holder_pid(connection, row["id"]) for row, _ in rows}

    [first_runner] = runner_processes(with_database)
    assert holders() == {first_runner.pid}
    without = supervisors.start(**redis_only)
    wait_for(lambda: runner_processes(without), 20, what="the second host's runner")
    # The machine with the database dies: supervisor and whole tree at once, nothing cleans up.
    doomed = [psutil.Process(with_database.pid), *psutil.Process(with_database.pid).children(recursive=True)]
    for process in doomed:
        process.kill()
    with_database.wait()
    killed_at = time.monotonic()
    [survivor] = runner_processes(without)
    wait_for(
        lambda: holders() == {survivor.pid}, app.config["LEASE_SECONDS"] + 10, interval=0.1, what="takeover"
    )
    for headers in all_headers:
        body = {"phone_number": "+201234567890", "text": "after the takeover"}
        wait_for(
            lambda h=headers, b=body: (
                client.post("/api/whatsapp/messages/send", headers=h, json=b).status_code == 200
            ),
            10,
            interval=0.2,
            what="a send through the survivor",
        )
    took = time.monotonic() - killed_at
    print(f"every instance served and sending again {took:.1f} s after kill -9 of one supervisor")
    assert took <= app.config["LEASE_SECONDS"] + 10, took
    for (row, _), headers in zip(rows, all_headers, strict=True):
        assert session_workers(app, row["id"]) == [survivor.pid]
        assert [m["text"] for m in outbox(client, headers)] == ["after the takeover"]
