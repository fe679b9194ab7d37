"""Renders, chat turns, voice jobs and probes are queued with an estimated duration: learned from this
server's own successful jobs of the same workload, or a built-in rate until there are enough of them.
The forecast of /api/tasks then tells when a job behind a running one starts and ends."""
from datetime import timedelta

import pytest
from django.utils import timezone

from engines.testing.simple_media import write_tone_wav
from monitoring import estimates, runner
from monitoring.models import Job

pytestmark = pytest.mark.django_db

CLOSE = {"abs": 2}  # seconds pass between creating the rows and asking
RENDER_BASIS = "render/EchoLite/cpu/speech_seconds"


@pytest.fixture
def queued_only(monkeypatch, settings):
    """Requests queue their job and answer at once: it stays queued for the test to arrange."""
    monkeypatch.setattr(runner, "submit", lambda job: job)
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.0}
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 1}


@pytest.fixture
def ten_second_reference(client, tmp_path):
    with open(write_tone_wav(tmp_path / "ten.wav", seconds=10.0), "rb") as handle:
        body = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    assert body["status"] == "success", body
    return body["relative_path"]


def finished(job_id: str, basis: str, amount: float, took: float, status: str = Job.Status.SUCCEEDED, unit: str = "speech_seconds"):
    """A job of this server's history: `amount` units of `basis` done in `took` seconds, an hour ago."""
    end = timezone.now() - timedelta(hours=1)
    Job.objects.create(id=job_id, kind=basis.partition("/")[0], status=status, progress=1.0, eta_seconds=0,
                       params={"workload": {"basis": basis, "unit": unit, "amount": amount}},
                       started_at=end - timedelta(seconds=took), finished_at=end)


def render(client, reference) -> dict:
    response = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": reference})
    assert response.status_code == 202, response.content.decode()
    return client.get(f"/api/tasks/{response.json()['task_id']}").json()


def test_a_render_behind_a_running_one_is_forecast_from_finished_renders(client, model, ten_second_reference, queued_only, tmp_path):
    finished("r1", RENDER_BASIS, amount=10, took=20)  # 2 s per second of speech
    finished("r2", RENDER_BASIS, amount=10, took=30)  # 3
    finished("r3", RENDER_BASIS, amount=20, took=20)  # 1: the median is 2 s per second
    finished("r4", RENDER_BASIS, amount=10, took=900, status=Job.Status.FAILED)  # a failure teaches no pace
    finished("r5", "render/EchoLite/cuda/speech_seconds", amount=10, took=1)  # nor a GPU's
    finished("r6", "render/ER-NeRF/cpu/speech_seconds", amount=10, took=600)  # nor another model type's

    first = render(client, ten_second_reference)
    assert first["eta_seconds"] == pytest.approx(20, abs=0.5)  # 10 s of speech at 2 s per second
    assert (first["starts_in_seconds"], first["ends_in_seconds"]) == (0, pytest.approx(20, abs=0.5))
    assert first["params"]["estimate_learned_from"] == 3
    # It starts and has run 5 s, too little along for its own pace: its estimate counts down.
    Job.objects.filter(pk=first["task_id"]).update(status=Job.Status.RUNNING, started_at=timezone.now() - timedelta(seconds=5))

    with open(write_tone_wav(tmp_path / "ten_again.wav", seconds=10.0), "rb") as handle:  # the same request again would be a double click
        other_reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    second = render(client, other_reference)
    assert second["state"] == "queued" and second["queue_position"] == 1
    assert second["starts_in_seconds"] == pytest.approx(15, **CLOSE)
    assert second["ends_in_seconds"] == pytest.approx(35, **CLOSE)
    running = client.get(f"/api/tasks/{first['task_id']}").json()
    assert running["starts_in_seconds"] is None
    assert running["eta_seconds"] == pytest.approx(15, **CLOSE) and running["ends_in_seconds"] == running["eta_seconds"]


def test_without_history_the_builtin_rate_is_used(client, model, ten_second_reference, queued_only):
    finished("r1", RENDER_BASIS, amount=10, took=2)
    finished("r2", RENDER_BASIS, amount=10, took=2)  # two renders are not enough to learn from
    queued = render(client, ten_second_reference)
    prior = estimates.PRIOR_SECONDS_PER_UNIT["speech_seconds"] * 10
    assert queued["eta_seconds"] == pytest.approx(prior, abs=0.5) and queued["ends_in_seconds"] == pytest.approx(prior, abs=0.5)
    assert queued["params"]["estimate_learned_from"] == 0


def test_a_chat_turn_is_timed_as_a_whole(client, model, queued_only):
    for index, took in enumerate((40, 50, 90)):
        finished(f"c{index}", "chat/EchoLite/cpu/turn", amount=1, took=took, unit="turn")
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "wait": "false"}
    # two questions (the same one again this soon would be a double click, answered by the first turn)
    first, second = (client.post("/chat_system", {**form, "text": text}).json()["task_id"] for text in ("Hello", "Hello again"))
    seen = {task["task_id"]: task for task in client.get("/api/tasks?kind=chat").json()["tasks"]}
    assert seen[first]["eta_seconds"] == 50 and (seen[first]["starts_in_seconds"], seen[first]["ends_in_seconds"]) == (0, 50)
    assert (seen[second]["starts_in_seconds"], seen[second]["ends_in_seconds"]) == (50, 100)


def test_a_synthesis_is_timed_by_its_characters(client, media_root, ten_second_reference, queued_only):
    text = "Hello there, this is a test."  # 28 characters
    response = client.post("/audio_clone", {"ref_audio_path": ten_second_reference, "generate_text": text})
    assert response.status_code == 202, response.content.decode()
    job = Job.objects.get(pk=response.json()["task_id"])
    assert job.kind == Job.Kind.SYNTHESIZE and job.params["workload"]["amount"] == len(text)
    assert job.eta_seconds == pytest.approx(estimates.PRIOR_SECONDS_PER_UNIT["characters"] * len(text), abs=0.1)


def test_a_video_check_is_timed_by_the_videos_length_and_a_speaker_profile_by_the_references(client, ten_second_reference, queued_only):
    from assets.jobs import start_probe
    from assets.models import TrainingVideo

    for index, took in enumerate((30, 40, 50)):
        finished(f"p{index}", "probe/video_seconds", amount=100, took=took, unit="video_seconds")  # 0.4 s per second
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", duration=60.0)
    assert start_probe(video, submit=False).eta_seconds == pytest.approx(24)
    unmeasured = TrainingVideo.objects.create(file="videos/ref_videos/bob.mp4")
    assert start_probe(unmeasured, submit=False).eta_seconds == estimates.PRIOR_SECONDS_PER_UNIT["video"]

    response = client.post("/audio_clone", {"original_audio_path": ten_second_reference, "target_audio_id": "spk1"})
    job = Job.objects.get(pk=response.json()["task_id"])
    assert job.kind == Job.Kind.CLONE
    assert job.eta_seconds == pytest.approx(estimates.PRIOR_STARTUP_SECONDS["reference_seconds"] + estimates.PRIOR_SECONDS_PER_UNIT["reference_seconds"] * 10, abs=0.5)


def test_a_running_jobs_time_left_weighs_its_estimate_until_its_progress_tells(client):
    """A chat turn reports 10 % as its LLM starts, however long the rest takes: that pace alone said
    18 s left of a turn such turns take 60 s for."""
    Job.objects.create(id="turn", kind=Job.Kind.CHAT, status=Job.Status.RUNNING, progress=0.1, stage="llm",
                       params={"estimated_seconds": 60}, started_at=timezone.now() - timedelta(seconds=2))
    # the estimate's share not yet done, 54 s: the pace counts from 10 %, with no weight yet
    assert client.get("/api/tasks/turn").json()["eta_seconds"] == pytest.approx(0.9 * 60, abs=0.5)
    Job.objects.filter(pk="turn").update(progress=0.9, started_at=timezone.now() - timedelta(seconds=90))
    # nearly done and past its estimate: its own pace
    assert client.get("/api/tasks/turn").json()["eta_seconds"] == pytest.approx(10, abs=0.5)


def test_a_waiting_job_is_forecast_from_what_the_server_has_learned_since_it_was_queued(client, model, ten_second_reference,
                                                                                         queued_only):
    """Queued before this server had timed any render, a job kept the built-in rate's figure for as long
    as it waited, though renders like it finished meanwhile at twice that pace."""
    waiting = render(client, ten_second_reference)
    prior = estimates.PRIOR_SECONDS_PER_UNIT["speech_seconds"] * 10
    assert waiting["ends_in_seconds"] == pytest.approx(prior, abs=0.5)
    for index in range(3):
        finished(f"r{index}", RENDER_BASIS, amount=10, took=20)  # 2 s per second of speech, finished meanwhile

    now = client.get(f"/api/tasks/{waiting['task_id']}").json()
    assert now["eta_seconds"] == pytest.approx(20, abs=0.5) and now["ends_in_seconds"] == pytest.approx(20, abs=0.5)
    assert now["params"]["estimated_seconds"] == prior and now["params"]["estimate_learned_from"] == 0  # the record of its queueing
    # What the cards say the figure rests on (an addition): the jobs it is learned from now.
    assert waiting["estimate"]["learned_from"] == 0 and now["estimate"] == {"seconds": pytest.approx(20, abs=0.5), "learned_from": 3}
    # Once it runs, its time left counts down what is known now, not the figure it was queued with.
    Job.objects.filter(pk=waiting["task_id"]).update(status=Job.Status.RUNNING, started_at=timezone.now() - timedelta(seconds=5))
    assert client.get(f"/api/tasks/{waiting['task_id']}").json()["eta_seconds"] == pytest.approx(15, **CLOSE)


def test_a_renders_start_up_is_learned_apart_from_its_pace(client, model, ten_second_reference, queued_only):
    """Every render loads its model first (8 s here), then takes 0.5 s per second of speech: one rate
    per second made short renders come out under and long ones over."""
    for amount in (1, 2, 3, 60, 80, 100):
        finished(f"r{amount}", RENDER_BASIS, amount=amount, took=8 + 0.5 * amount)
    finished("busy", RENDER_BASIS, amount=50, took=400)  # beside a training: one such render does not move the line

    queued = render(client, ten_second_reference)
    assert queued["ends_in_seconds"] == pytest.approx(13, abs=0.5)  # the median rate per second said 32
    assert queued["estimate"] == {"seconds": pytest.approx(13, abs=0.5), "learned_from": 7}
    short, long = ({"basis": RENDER_BASIS, "unit": "speech_seconds", "amount": amount} for amount in (2, 200))
    assert estimates.estimate(Job.Kind.RENDER, short).seconds == pytest.approx(9, abs=0.5)  # it said 6.3
    assert estimates.estimate(Job.Kind.RENDER, long).seconds == pytest.approx(108, abs=1)  # it said 634


def test_within_its_estimate_a_job_behind_its_pace_has_more_left_than_one_ahead_of_it(client):
    """Weighing the two times left by progress cancelled to (1 - progress) x estimate, whatever the pace:
    both of these read 40 s. The pace's weight grows from 10 % on, so its first reading does not jump."""
    for name, ran in (("ahead", 30), ("behind", 90)):
        Job.objects.create(id=name, kind=Job.Kind.RENDER, status=Job.Status.RUNNING, progress=0.6, stage="render",
                           params={"estimated_seconds": 100}, started_at=timezone.now() - timedelta(seconds=ran))
    left = {name: client.get(f"/api/tasks/{name}").json()["eta_seconds"] for name in ("ahead", "behind")}
    assert left["ahead"] == pytest.approx(4 / 9 * 40 + 5 / 9 * 20, abs=0.5)  # its pace says 20, the estimate 40
    assert left["behind"] == pytest.approx(4 / 9 * 10 + 5 / 9 * 60, abs=0.5)  # its pace says 60, the estimate 10
    Job.objects.create(id="early", kind=Job.Kind.RENDER, status=Job.Status.RUNNING, progress=0.09, stage="render",
                       params={"estimated_seconds": 100}, started_at=timezone.now() - timedelta(seconds=80))
    assert client.get("/api/tasks/early").json()["eta_seconds"] == pytest.approx(20, abs=0.5)
    Job.objects.filter(pk="early").update(progress=0.11)
    assert client.get("/api/tasks/early").json()["eta_seconds"] == pytest.approx(89 / 90 * 20 + 1 / 90 * 647.3, abs=1)


def test_a_stage_that_stalls_does_not_stretch_the_time_left(client):
    """An upload check estimated at 39 s sat at 10 % in its face check: past its estimate, the pace of
    that 10 % alone said nine times the time it had run, 3 min and growing by 9 s a second."""
    started = timezone.now()
    Job.objects.create(id="check", kind=Job.Kind.PROBE, status=Job.Status.RUNNING, progress=0.1, stage="check",
                       params={"estimated_seconds": 39}, started_at=started - timedelta(seconds=30))
    within = client.get("/api/tasks/check").json()
    Job.objects.filter(pk="check").update(started_at=started - timedelta(seconds=60))
    past = client.get("/api/tasks/check").json()
    assert past["eta_seconds"] is None and past["ends_in_seconds"] is None  # was 540
    assert within["eta_seconds"] == pytest.approx(39 - 30, abs=0.5) and within["past_estimate_seconds"] is None
    assert past["past_estimate_seconds"] == pytest.approx(21, **CLOSE)
    # More than half done, its own pace tells again; it is still past its estimate.
    Job.objects.filter(pk="check").update(progress=0.8)
    along = client.get("/api/tasks/check").json()
    assert along["eta_seconds"] == pytest.approx(60 * 0.2 / 0.8, **CLOSE) and along["past_estimate_seconds"] == pytest.approx(21, **CLOSE)


def test_a_job_without_an_estimate_is_not_extrapolated_from_its_first_percent(client):
    Job.objects.create(id="train", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.02,
                       started_at=timezone.now() - timedelta(seconds=10))
    assert client.get("/api/tasks/train").json()["eta_seconds"] is None  # was 490 s from 2 % in 10 s
    Job.objects.filter(pk="train").update(progress=0.25)
    assert client.get("/api/tasks/train").json()["eta_seconds"] == pytest.approx(30, **CLOSE)
