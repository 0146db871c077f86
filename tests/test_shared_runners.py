"""Issue 12 item 1: several sessions per runner process, spread by the supervisor, each on its own."""

import os
import signal
import time

import psutil
import pytest
import redis

from megamsg import keys
from megamsg.runtime.lease import lease_holder
from megamsg.runtime.placement import place
from megamsg.session_state import mark_deleted, read_state
from megamsg.store.instances import delete_instance
from tests.conftest import auth_headers, outbox, wait_for
from tests.test_runtime import runner_processes, session_workers


@pytest.mark.parametrize(
    ("current", "desired", "per_runner", "expected"),
    [
        # A start: N instances over ceil(N / k) runners, evenly.
        ({}, {"a", "b", "c", "d", "e"}, 2, {0: {"a", "d"}, 1: {"b", "e"}, 2: {"c"}}),
        ({}, {"a", "b", "c"}, 10, {0: {"a", "b", "c"}}),
        ({}, set(), 10, {}),
        # A new instance joins the least loaded runner with room; nobody moves.
        ({0: {"a", "b"}, 1: {"c"}}, {"a", "b", "c", "d"}, 2, {0: {"a", "b"}, 1: {"c", "d"}}),
        # Every runner full: a new one opens, in the lowest free slot.
        (
            {0: {"a", "b"}, 2: {"c", "d"}},
            {"a", "b", "c", "d", "e"},
            2,
            {0: {"a", "b"}, 1: {"e"}, 2: {"c", "d"}},
        ),
        # Deleted instances leave their runner; a runner left empty is dropped; the rest stay put.
        ({0: {"a", "b"}, 1: {"c"}}, {"a"}, 2, {0: {"a"}}),
        ({0: {"a"}, 1: {"b"}}, {"b"}, 2, {1: {"b"}}),
        # A lower limit later does not move running sessions.
        ({0: {"a", "b", "c"}}, {"a", "b", "c"}, 1, {0: {"a", "b", "c"}}),
    ],
)
def test_placement(current, desired, per_runner, expected):
    assert place(current, desired, per_runner) == expected


def link(client, headers: dict, phone: str) -> None:
    """Wait for the session's QR code and scan it with a simulated phone."""
    wait_for(
        lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr",
        20,
        what="QR",
    )
    scanned = client.post("/api/simulator/scan", headers=headers, json={"phone_number": phone})
    assert scanned.status_code == 200, scanned.get_data(as_text=True)


def send(client, headers: dict, text: str, **extra):
    return client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": text, **extra},
    )


def holder_pid(app, instance_id: str) -> int | None:
    holder = lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), instance_id)
    return int(holder.split(":")[1]) if holder else None


@pytest.fixture
def two_linked(app, client, make_instance, supervisors):
    """Two instances linked to simulated phones, hosted by one runner: [(row, headers), …], supervisor."""
    rows = [make_instance("Slow"), make_instance("Quick")]
    supervisor = supervisors.start()
    linked = []
    for n, (row, token) in enumerate(rows):
        headers = auth_headers(row["id"], token)
        link(client, headers, f"+20100000000{n + 1}")
        linked.append((row, headers))
    [runner] = runner_processes(supervisor)
    assert {holder_pid(app, row["id"]) for row, _ in linked} == {runner.pid}
    return linked, supervisor


def test_a_slow_send_does_not_delay_another_instance_in_the_same_runner(app, client, two_linked):
    (slow, slow_headers), (_quick, quick_headers) = two_linked[0]
    assert (
        client.post("/api/simulator/delay-next", headers=slow_headers, json={"seconds": 6}).status_code == 200
    )
    queued = send(client, slow_headers, "a 60 MB video, say", **{"async": True})
    assert queued.status_code == 202
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    wait_for(
        lambda: connection.exists(keys.send_claim(queued.get_json()["id"])), 10, what="the slow send to begin"
    )
    started = time.monotonic()
    quick = send(client, quick_headers, "meanwhile")
    took = time.monotonic() - started
    assert quick.status_code == 200, quick.get_data(as_text=True)
    assert took < 3, took  # not behind the 6 s send
    assert outbox(client, slow_headers) == []  # which is indeed still going on
    assert [m["text"] for m in outbox(client, quick_headers)] == ["meanwhile"]
    wait_for(lambda: outbox(client, slow_headers), 15, what="the slow send to finish")


def test_a_session_that_cannot_start_leaves_the_other_serving(
    app, client, make_instance, supervisors, tmp_path
):
    broken, _ = make_instance("Broken")
    fine, fine_token = make_instance("Fine")
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    # A real fault under one session: its queue's started-job registry is not a sorted set.
    connection.set(f"rq:wip:{keys.session_queue(broken['id'])}", "not a registry")
    log_path = str(tmp_path / "supervisor.log")
    supervisor = supervisors.start(log_path=log_path)
    headers = auth_headers(fine["id"], fine_token)
    link(client, headers, "+201000000002")
    assert send(client, headers, "unaffected").status_code == 200
    failed = f"session {broken['id']} ended (ResponseError: WRONGTYPE"
    wait_for(lambda: open(log_path).read().count(failed) >= 2, 20, what="two failed starts")  # noqa: SIM115
    [runner] = runner_processes(supervisor)
    assert holder_pid(app, fine["id"]) == runner.pid
    assert send(client, headers, "still unaffected").status_code == 200
    # Once the fault is gone, the broken session comes up by itself, in the same runner.
    connection.delete(f"rq:wip:{keys.session_queue(broken['id'])}")
    wait_for(lambda: session_workers(app, broken["id"]) == [runner.pid], 30, what="the session to recover")
    assert read_state(app.config, broken["id"])["alive"]


def test_a_logout_leaves_the_other_session_connected(app, client, two_linked):
    (_first, first_headers), (_second, second_headers) = two_linked[0]
    wait_for(
        lambda: (
            client.get("/api/whatsapp/instance", headers=first_headers).get_json()["status"] == "connected"
        )
    )
    assert client.post("/api/whatsapp/instance/logout", headers=first_headers).status_code == 200
    wait_for(
        lambda: (
            client.get("/api/whatsapp/instance", headers=first_headers).get_json()["status"]
            in ("qr", "logged_out")
        )
    )
    assert client.get("/api/whatsapp/instance", headers=second_headers).get_json()["status"] == "connected"
    assert send(client, second_headers, "after the other's logout").status_code == 200


def test_supervisor_spreads_instances_and_adds_and_removes_them_in_place(
    app, client, make_instance, supervisors, db
):
    rows = [make_instance(f"Number {n}")[0] for n in range(5)]
    supervisor = supervisors.start(MEGAMSG_SESSIONS_PER_RUNNER="2")

    def hosts() -> dict[str, int | None]:
        return {row["id"]: holder_pid(app, row["id"]) for row in rows}

    wait_for(lambda: all(hosts().values()), 30, what="every instance served")
    runners = {p.pid for p in runner_processes(supervisor)}
    assert len(runners) == 3  # ceil(5 / 2)
    assert set(hosts().values()) == runners
    load = sorted(list(hosts().values()).count(pid) for pid in runners)
    assert load == [1, 2, 2]
    before = hosts()

    # A new instance joins the runner with room; nobody else moves, no runner is added.
    [alone] = [pid for pid in runners if list(before.values()).count(pid) == 1]
    added = make_instance("Number 5")[0]
    rows.append(added)
    wait_for(
        lambda: holder_pid(app, added["id"]) == alone, 20, what="the new instance on the runner with room"
    )
    assert {row_id: pid for row_id, pid in hosts().items() if row_id != added["id"]} == before
    assert {p.pid for p in runner_processes(supervisor)} == runners

    # Deleting one instance ends only its session.
    gone = next(row_id for row_id, pid in before.items() if pid != alone)
    mark_deleted(app.config, gone)
    delete_instance(db, gone)
    rows = [row for row in rows if row["id"] != gone]
    wait_for(lambda: lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), gone) is None, 15)
    assert {row_id: pid for row_id, pid in hosts().items() if row_id in before} == {
        row_id: pid for row_id, pid in before.items() if row_id != gone
    }
    # A runner whose instances are all deleted stops; the others go on.
    emptied = [row["id"] for row in rows if holder_pid(app, row["id"]) == alone]
    for row_id in emptied:
        mark_deleted(app.config, row_id)
        delete_instance(db, row_id)
    rows = [row for row in rows if row["id"] not in emptied]
    wait_for(
        lambda: alone not in {p.pid for p in runner_processes(supervisor)},
        20,
        what="the empty runner to stop",
    )
    assert {p.pid for p in runner_processes(supervisor)} == runners - {alone}
    assert all(hosts().values())


def test_a_crashed_runner_s_sessions_are_back_long_before_their_leases_expire(
    app, client, make_instance, supervisors
):
    lease_seconds = 20.0  # the default: a crash must not cost this long
    rows = [make_instance(name) for name in ("One", "Two")]
    supervisor = supervisors.start(MEGAMSG_LEASE_SECONDS=str(lease_seconds))
    all_headers = [auth_headers(row["id"], token) for row, token in rows]
    for n, headers in enumerate(all_headers):
        link(client, headers, f"+20100000000{n + 1}")
    [runner] = runner_processes(supervisor)
    # What a fatal fault in neonize's Go runtime does: the whole process is gone at once.
    os.kill(runner.pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def all_back() -> bool:
        return all(
            holder_pid(app, row["id"]) not in (None, runner.pid) and session_workers(app, row["id"])
            for row, _ in rows
        )

    wait_for(all_back, lease_seconds, interval=0.1, what="every session back in a new runner")
    for headers in all_headers:
        wait_for(lambda h=headers: send(client, h, "back").status_code == 200, 10, interval=0.2)
    took = time.monotonic() - killed_at
    print(f"both sessions serving sends again {took:.1f} s after their runner was killed")
    assert took < lease_seconds / 2, took
    assert psutil.Process(supervisor.pid).is_running()


@pytest.mark.slow
def test_a_lease_lost_during_a_long_send_ends_that_session_only_not_the_runner(app, client, make_instance):
    import subprocess
    import sys

    from tests.processes import REPO, child_env

    (slow, slow_token), (other, other_token) = make_instance("Slow"), make_instance("Other")
    slow_headers, other_headers = auth_headers(slow["id"], slow_token), auth_headers(other["id"], other_token)
    runner = subprocess.Popen(
        [sys.executable, "-m", "megamsg.runtime.runner", slow["id"], other["id"]],
        cwd=REPO,
        env=child_env(dict(app.config)),
    )
    try:
        link(client, slow_headers, "+201000000001")
        link(client, other_headers, "+201000000002")
        assert (
            client.post("/api/simulator/delay-next", headers=slow_headers, json={"seconds": 8}).status_code
            == 200
        )
        queued = send(client, slow_headers, "long", **{"async": True})
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        wait_for(
            lambda: connection.exists(keys.send_claim(queued.get_json()["id"])), 10, what="the long send"
        )
        connection.set(keys.lease(slow["id"]), "elsewhere:1:x", px=60_000)
        # Past the point where a runner used to exit (70 % of the lease) and well beyond: the
        # session's client was closed under its send instead, and the runner goes on.
        watch_until = time.monotonic() + 2 * app.config["LEASE_SECONDS"]
        while time.monotonic() < watch_until:
            assert runner.poll() is None
            time.sleep(0.1)  # sampling interval of the observation window, not a synchronisation
        assert send(client, other_headers, "unaffected").status_code == 200
        wait_for(lambda: not session_workers(app, slow["id"]), 15, what="the slow session to end")
        assert connection.get(keys.lease(slow["id"])) == b"elsewhere:1:x"
        assert session_workers(app, other["id"]) == [runner.pid]
    finally:
        runner.terminate()
        assert runner.wait(timeout=15) == 0


def test_several_neonize_sessions_share_one_runner_offline(config_overrides, make_instance):
    import subprocess
    import sys

    from megamsg.web import create_app
    from tests.processes import REPO, child_env

    app = create_app({**config_overrides, "WHATSAPP_DRIVER": "neonize"})
    client = app.test_client()
    rows = [make_instance(f"Number {n}") for n in range(3)]
    # The proxy makes whatsmeow fail even on a machine that can reach WhatsApp: every session
    # connects, fails and retries, each connect and stop under the process-wide lock.
    env = child_env(dict(app.config), HTTPS_PROXY="http://127.0.0.1:1", HTTP_PROXY="http://127.0.0.1:1")
    runner = subprocess.Popen(
        [sys.executable, "-m", "megamsg.runtime.runner", *(row["id"] for row, _ in rows)], cwd=REPO, env=env
    )
    try:
        for row, token in rows:
            headers = auth_headers(row["id"], token)

            def info(h=headers) -> dict:
                return client.get("/api/whatsapp/instance", headers=h).get_json()

            state = wait_for(lambda i=info: i()["status"] == "disconnected" and i(), 30, what="disconnected")
            assert state["last_error"].startswith("cannot reach WhatsApp")
        first_attempts = {row["id"]: read_state(app.config, row["id"])["updated_at"] for row, _ in rows}
        # Every session retries (after 2 s, then 4 s) in the same process, which stays up.
        for row, _ in rows:
            wait_for(
                lambda r=row: read_state(app.config, r["id"])["updated_at"] != first_attempts[r["id"]],
                20,
                what="a retry",
            )
        assert runner.poll() is None
        for row, token in rows:
            pair = client.post(
                "/api/whatsapp/instance/pair-code",
                headers=auth_headers(row["id"], token),
                json={"phone_number": "+201234567890"},
            )
            assert pair.status_code == 409 and "QR" in pair.get_json()["message"]
        assert {holder_pid(app, row["id"]) for row, _ in rows} == {runner.pid}
    finally:
        runner.terminate()
        assert runner.wait(timeout=15) == 0
