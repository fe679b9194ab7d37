"""When a queued job should start and end: the time left of the jobs running in its queue and the
estimates of the jobs ahead of it, served first come first served by that queue's workers."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Job

pytestmark = pytest.mark.django_db

CLOSE = {"abs": 2}  # seconds pass between creating the rows and asking


@pytest.fixture
def workers(settings):
    """Sets how many workers a queue has, as ECHOFU_INTERACTIVE_WORKERS and ECHOFU_CPU_JOB_SLOTS do."""
    def set_workers(queue: str, count: int):
        if queue == "interactive":
            settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": count}
        else:
            clusters = settings.Q_CLUSTER["ALT_CLUSTERS"]
            settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {**clusters, queue: {**clusters[queue], "workers": count}}}

    return set_workers


def running(job_id: str, *, ran: float, progress: float, queue: str = "cpu") -> Job:
    """A job that has run `ran` seconds and is `progress` along: its time left is ran * (1 - progress) / progress."""
    return Job.objects.create(id=job_id, kind=Job.Kind.TRAIN, queue=queue, status=Job.Status.RUNNING, progress=progress,
                              started_at=timezone.now() - timedelta(seconds=ran))


def queued(job_id: str, estimate: float | None, *, waited: float, kind: str = Job.Kind.TRAIN, queue: str = "cpu") -> Job:
    """Asked for `waited` seconds ago, with the estimated duration a training is queued with (None: none)."""
    return Job.objects.create(id=job_id, kind=kind, queue=queue, eta_seconds=estimate,
                              created_at=timezone.now() - timedelta(seconds=waited))


def timings(client, query: str = "") -> dict:
    tasks = client.get(f"/api/tasks?limit=50{query}").json()["tasks"]
    return {task["task_id"]: (task["starts_in_seconds"], task["ends_in_seconds"]) for task in tasks}


def test_queued_jobs_wait_for_the_running_ones_and_those_ahead_on_each_worker(client, workers):
    workers("cpu", 2)
    running("a", ran=60, progress=0.5)  # 60 s left
    running("b", ran=100, progress=0.25)  # 300 s left
    queued("c", 120, waited=30)  # first free worker (a's, at 60 s): 60 -> 180
    queued("d", 500, waited=20)  # next free one (c's worker, at 180 s): 180 -> 680
    queued("e", 50, waited=10)  # b's worker, at 300 s: 300 -> 350
    seen = timings(client)
    assert seen["a"] == (None, pytest.approx(60, **CLOSE)) and seen["b"] == (None, pytest.approx(300, **CLOSE))
    assert seen["c"] == (pytest.approx(60, **CLOSE), pytest.approx(180, **CLOSE))
    assert seen["d"] == (pytest.approx(180, **CLOSE), pytest.approx(680, **CLOSE))
    assert seen["e"] == (pytest.approx(300, **CLOSE), pytest.approx(350, **CLOSE))
    # The eta_seconds it always had stays the job's own estimate.
    assert client.get("/api/tasks/e").json()["eta_seconds"] == 50
    assert client.get("/api/tasks/e").json()["starts_in_seconds"] == pytest.approx(300, **CLOSE)


def test_one_worker_serves_the_queue_one_job_after_another(client, workers):
    workers("cpu", 1)
    running("a", ran=60, progress=0.5)
    queued("c", 120, waited=30)
    queued("d", 500, waited=20)
    seen = timings(client)
    assert seen["c"] == (pytest.approx(60, **CLOSE), pytest.approx(180, **CLOSE))
    assert seen["d"] == (pytest.approx(180, **CLOSE), pytest.approx(680, **CLOSE))


def test_a_free_worker_starts_the_next_job_now(client, workers):
    workers("cpu", 2)
    running("a", ran=60, progress=0.5)
    queued("c", 120, waited=10)
    assert timings(client)["c"] == (0, 120)


def test_jobs_running_beyond_this_servers_workers_each_free_one(client, workers):
    workers("cpu", 1)  # another machine's cluster serves the queue too: two run
    running("a", ran=60, progress=0.5)  # 60 s left
    running("b", ran=100, progress=0.25)  # 300 s left
    queued("c", 120, waited=20)
    queued("d", 10, waited=10)
    seen = timings(client)
    assert seen["c"] == (pytest.approx(60, **CLOSE), pytest.approx(180, **CLOSE))
    assert seen["d"] == (pytest.approx(180, **CLOSE), pytest.approx(190, **CLOSE))


def test_other_queues_do_not_delay_a_job(client, workers):
    workers("cpu", 1)
    workers("interactive", 1)
    running("render", ran=10, progress=0.1, queue="interactive")  # 90 s left, on the interactive queue
    queued("chat", None, waited=20, kind=Job.Kind.CHAT, queue="interactive")
    queued("c", 120, waited=10)
    seen = timings(client)
    assert seen["c"] == (0, 120)
    # A job queued without an estimate (monitoring.estimates could not measure it): when it starts is known, when it ends is not.
    assert seen["chat"] == (pytest.approx(90, **CLOSE), None)


def test_nothing_is_promised_behind_a_job_nobody_can_time(client, workers):
    workers("cpu", 1)
    running("a", ran=60, progress=0.5)
    queued("unknown", None, waited=30)  # ahead, with no estimate
    queued("c", 120, waited=10)
    seen = timings(client)
    assert seen["unknown"] == (pytest.approx(60, **CLOSE), None)
    assert seen["c"] == (None, None)


def test_a_running_job_without_time_left_leaves_the_start_unknown(client, workers):
    workers("cpu", 1)
    running("a", ran=5, progress=0.0)  # just begun, no estimate: nobody knows when its worker is free
    queued("c", 120, waited=10)
    assert timings(client)["c"] == (None, None)


def test_jobs_of_other_users_ahead_count_without_being_shown(client, workers, settings, django_user_model):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": False}
    workers("cpu", 1)
    someone, me = (django_user_model.objects.create_user(name, password="x" * 12) for name in ("someone", "me"))
    Job.objects.create(id="theirs", kind=Job.Kind.TRAIN, queue="cpu", eta_seconds=400, owner=someone,
                       created_at=timezone.now() - timedelta(seconds=30))
    Job.objects.filter(pk=queued("mine", 120, waited=10).pk).update(owner=me)
    client.force_login(me)
    seen = timings(client)
    assert "theirs" not in seen and seen["mine"] == (400, 520)


def test_finished_jobs_have_nothing_left(client):
    Job.objects.create(id="done", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.SUCCEEDED, eta_seconds=0)
    assert timings(client)["done"] == (None, 0)


def test_the_admin_shows_a_queued_jobs_expected_start_and_end(admin_client, workers):
    workers("cpu", 1)
    queued("ahead", 400, waited=30)
    queued("c", 120, waited=10)
    admin_client.cookies["django_language"] = "en"
    assert "starts in 400 s, ends in 520 s" in admin_client.get("/admin/monitoring/job/c/change/").content.decode()


def test_the_admin_says_how_far_a_running_job_has_overrun_its_estimate(admin_client):
    Job.objects.create(id="late", kind=Job.Kind.PROBE, status=Job.Status.RUNNING, progress=0.1, params={"estimated_seconds": 39},
                       started_at=timezone.now() - timedelta(seconds=100))
    page = admin_client.get("/admin/monitoring/job/late/change/").content.decode()
    assert re.search(r"结束时间暂不确定, 已超出预计 6[12] s", page)
    assert re.search(r'<div class="readonly">10%</div>', page)  # its progress as the list shows it, not 0.1
    admin_client.cookies["django_language"] = "en"
    assert re.search(r"end not known yet, 6[12] s past its estimate", admin_client.get("/admin/monitoring/job/late/change/").content.decode())


@pytest.mark.parametrize("language, why", [
    ("zh-hans", "开始时间暂不确定 (前面的任务比预计用时更长)"),
    ("en", "Start not known yet (the job ahead is taking longer than estimated)"),
])
def test_the_admin_list_says_why_a_waiting_jobs_start_is_unknown(admin_client, workers, language, why):
    """The job card gives start_unknown_reason; the admin's list of jobs said "starts in unknown" without it."""
    workers("cpu", 1)
    Job.objects.create(id="late", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                       params={"estimated_seconds": 60}, started_at=timezone.now() - timedelta(seconds=100))
    queued("c", 120, waited=10)
    admin_client.cookies["django_language"] = language
    listing = admin_client.get("/admin/monitoring/job/?status__exact=queued").content.decode()
    assert why in listing and "unknown" not in listing.replace("start_unknown", "")
    assert why in admin_client.get("/admin/monitoring/job/c/change/").content.decode()


def test_a_job_behind_one_that_overran_its_estimate_says_why_its_start_is_unknown(client, workers):
    """Ahead of it, a training estimated at 60 s ran 100 s and is a fifth done: its time left is nobody's
    guess, so the start of the job behind it stays null, and start_unknown_reason (an addition) says why."""
    workers("cpu", 1)
    Job.objects.create(id="late", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                       params={"estimated_seconds": 60}, started_at=timezone.now() - timedelta(seconds=100))
    queued("c", 120, waited=10)
    waiting = client.get("/api/tasks/c").json()
    assert (waiting["starts_in_seconds"], waiting["ends_in_seconds"]) == (None, None)
    assert waiting["start_unknown_reason"] == "job_ahead_overran"
    assert client.get("/api/tasks/late").json()["start_unknown_reason"] is None


def test_a_job_behind_one_without_an_estimate_says_why_its_start_is_unknown(client, workers):
    workers("cpu", 1)
    running("a", ran=60, progress=0.5)
    queued("unknown", None, waited=30)
    queued("c", 120, waited=10)
    listed = {task["task_id"]: task["start_unknown_reason"] for task in client.get("/api/tasks?limit=50").json()["tasks"]}
    assert listed == {"a": None, "unknown": None, "c": "job_ahead_not_estimated"}
