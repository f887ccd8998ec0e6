# test_schedules.py - scheduled runs through the real runner: once per slot with two runners and across restarts; paused, deleted and missed slots never fire.
import datetime
import json
import os
import time
import uuid

import pytest

import vexit
from vexit import Proc, wait_for, is_rfc3339


def utc_hhmm(offset_minutes=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=offset_minutes)
    return t.strftime("%H:%M")


def not_due_hhmm():
    """A time twelve hours away: never due during a test (the catch-up window is minutes)."""
    return utc_hhmm(12 * 60)


def create_agent(c, times, name="scheduled", content="Summarise the overnight news."):
    """A scheduled agent through the events dialect (POST /v1/agents)."""
    r = c.post("/v1/agents", json={"name": name, "mode": "SCHEDULED", "content": content,
                                   "schedule": {"tasksPerDay": max(1, len(times)), "times": times}})
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def due_agent(c, name="due"):
    """An ACTIVE agent whose only time is the current UTC minute: its slot is due now."""
    return create_agent(c, [utc_hhmm()], name=name)


def jobs_of(svc, agent_id):
    return svc.db_query("SELECT * FROM jobs WHERE agent_id = ? ORDER BY id", (agent_id,))


def fires_of(svc, agent_id):
    return svc.db_query("SELECT * FROM schedule_fires WHERE agent_id = ?", (agent_id,))


def wait_one_job(svc, agent_id, what="the scheduled job"):
    return wait_for(lambda: jobs_of(svc, agent_id), 30, interval=0.1, what=what)


def later_tick(svc, c, name="marker"):
    """Wait for a scheduler tick that began after this call: a marker agent due now gets its job.
    A tick walks the scheduled agents in id order and ids grow with time, so the tick that fired
    the marker had already looked at every agent made before it (the absence checks' proof)."""
    marker = due_agent(c, name=name)
    wait_one_job(svc, marker, what="the %s agent's job" % name)


def start_second_runner(svc, request, name="it-runner-b"):
    """Another vex-runner on the same database with its own --id and its own wake socket."""
    sock = os.path.join(svc.home, "run", name + ".sock")
    env = svc.env(svc.runner_env)
    env["VEX_SERVER_RUNNER_SOCKET"] = sock
    p = Proc(name, [os.path.join(vexit.BUILD, "vex-runner"), "--id", name], env, svc.log(name))
    request.addfinalizer(p.stop)
    wait_for(lambda: svc._dead(p) or os.path.exists(sock), 20, what=name + " wake socket")
    return p


def test_scheduled_agent_fires_once_and_completes(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    agent_id = due_agent(c)

    jobs = wait_one_job(svc, agent_id)
    assert len(jobs) == 1
    job = jobs[0]
    assert job["owner"] == c.sub
    assert job["kind"] == "agent"
    inp = json.loads(job["input_json"])
    assert inp["trigger"] == "schedule"
    assert inp["prompt"] == "Summarise the overnight news."
    assert inp["context_id"] is None
    assert is_rfc3339(inp["scheduled_for"])

    # The slot is recorded against the job, at the start of a UTC minute.
    fires = fires_of(svc, agent_id)
    assert len(fires) == 1
    assert fires[0]["job_id"] == job["id"]
    assert fires[0]["slot"] % 60000000 == 0
    slot = datetime.datetime.fromtimestamp(fires[0]["slot"] / 1e6, datetime.timezone.utc)
    assert inp["scheduled_for"].startswith(slot.strftime("%Y-%m-%dT%H:%M:00"))

    # The owner sees it run to completion in the vex dialect and as an event of the agent.
    env = c.wait_job(job["id"])
    assert env["status"] == "completed"
    r = c.get("/v1/agents/%s/events" % agent_id)
    assert r.status_code == 200, r.text
    events = r.json()["data"]
    assert [e["id"] for e in events] == [job["id"]]
    assert events[0]["status"] == "COMPLETED"

    # Later ticks never fire the slot again.
    later_tick(svc, c)
    assert len(jobs_of(svc, agent_id)) == 1
    assert len(fires_of(svc, agent_id)) == 1


def test_two_runners_fire_each_slot_once(fresh_svc, request):
    svc = fresh_svc
    second = start_second_runner(svc, request)
    c = svc.client()
    agents = [due_agent(c, name="two-runners-%d" % i) for i in range(5)]

    for a in agents:
        job = wait_one_job(svc, a)[0]
        c.wait_job(job["id"])
    later_tick(svc, c)
    for a in agents:
        assert len(jobs_of(svc, a)) == 1
        assert len(fires_of(svc, a)) == 1
    # both runners were up (and scheduling) throughout
    assert svc.runner.alive() and second.alive()


def test_restart_does_not_fire_again(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    first = due_agent(c, name="before-restart")
    job = wait_one_job(svc, first)[0]
    c.wait_job(job["id"])

    # Down, then up again: the slot is still inside the catch-up window but already fired.
    assert svc.runner.stop() == 0
    # A slot that comes due while no runner is up is caught up when one starts.
    during = due_agent(c, name="while-down")
    svc.start_runner()
    caught = wait_one_job(svc, during, what="the caught-up job")[0]
    c.wait_job(caught["id"])
    # The new runner's scheduler has ticked (it fired "during"), and ticks again.
    later_tick(svc, c)
    assert [j["id"] for j in jobs_of(svc, first)] == [job["id"]]
    assert len(jobs_of(svc, during)) == 1


def test_paused_and_deleted_agents_never_fire(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    now = utc_hhmm()

    # Never ACTIVE with a due slot: made with a far time, paused, then given the current minute.
    paused = create_agent(c, [not_due_hhmm()], name="paused")
    assert c.post("/v1/agents/%s/pause" % paused).status_code in (200, 204)
    r = c.patch("/v1/agents/" + paused, json={"schedule": {"tasksPerDay": 1, "times": [now]}})
    assert r.status_code == 200, r.text

    deleted = create_agent(c, [not_due_hhmm()], name="deleted")
    assert c.post("/v1/agents/%s/pause" % deleted).status_code in (200, 204)
    r = c.patch("/v1/agents/" + deleted, json={"schedule": {"tasksPerDay": 1, "times": [now]}})
    assert r.status_code == 200, r.text
    assert c.delete("/v1/agents/" + deleted).status_code in (200, 204)

    stored = {a["id"]: a for a in svc.db_query("SELECT id, status, schedule_json FROM agents")}
    assert stored[paused]["status"] == "PAUSED" and now in stored[paused]["schedule_json"]
    assert stored[deleted]["status"] == "DELETED" and now in stored[deleted]["schedule_json"]

    # A positive control made afterwards fires: the scheduler has looked at all three.
    later_tick(svc, c, name="control")
    assert jobs_of(svc, paused) == []
    assert jobs_of(svc, deleted) == []
    assert fires_of(svc, paused) == []
    assert fires_of(svc, deleted) == []


@pytest.mark.parametrize("fresh_svc", [{"runner_env": {"VEX_RUNNER_SCHEDULE_CATCHUP_S": "90"}}], indirect=True)
def test_slot_missed_beyond_window_is_skipped_and_logged(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    assert svc.runner.stop() == 0

    # An agent that existed an hour ago with a slot three minutes back: the runner was down for
    # longer than the window (90 s; the control's current-minute slot stays inside it). Written straight into the store: the API stamps created_at with now.
    # Its id sorts before every time-ordered one, so the control's tick walks past it first.
    agent_id = "00000000-0000-4000-8000-" + uuid.uuid4().hex[:12]
    now_us = int(time.time() * 1e6)
    svc.db_exec([("INSERT INTO agents(id, owner, name, role, max_depth, schedule_json, status, plan,"
                  " created_at, updated_at) VALUES (?, ?, 'missed', 'Catch up on nothing.', 3, ?, 'ACTIVE',"
                  " 'free', ?, ?)",
                  (agent_id, c.sub, json.dumps({"tasksPerDay": 1, "times": [utc_hhmm(-3)]}),
                   now_us - 3600 * 10**6, now_us - 3600 * 10**6))])

    svc.start_runner()
    later_tick(svc, c, name="control")

    def logged():
        with open(svc.log("vex-runner"), encoding="utf-8", errors="replace") as f:
            return [json.loads(l) for l in f if "schedule slot missed" in l and agent_id in l]

    lines = wait_for(logged, 10, interval=0.1, what="the missed-slot log line")
    assert lines[0]["agent_id"] == agent_id
    assert jobs_of(svc, agent_id) == []
    assert fires_of(svc, agent_id) == []
