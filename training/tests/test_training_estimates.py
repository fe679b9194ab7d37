"""A training's estimated duration is learned from this server's finished trainings of the same engine,
device and kind of run, by what its time grows with: EchoLite's own estimate (from the video's frames
and the epochs) calibrated by how long such trainings took here, ER-NeRF's and SyncTalk's iterations.
Until 3 like it have finished, EchoLite keeps its engine's estimate and the others have none."""
from datetime import timedelta

import pytest
from django.utils import timezone

from assets.models import TrainingVideo
from monitoring.models import Job
from training import jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def minute_video(media_root):
    from engines.testing.simple_media import write_plain_video

    write_plain_video(media_root / "videos/ref_videos/person.mp4", seconds=1.0)
    return TrainingVideo.objects.create(file="videos/ref_videos/person.mp4", original_name="person.mp4", size=1,
                                        duration=60.0, probe_status=TrainingVideo.ProbeStatus.OK)


def finish(job: Job, took: float, status: str = Job.Status.SUCCEEDED) -> None:
    """The queued training ran `took` seconds and ended an hour ago."""
    end = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(status=status, progress=1.0, eta_seconds=0, started_at=end - timedelta(seconds=took),
                                         finished_at=end)


def estimate_of(client, job: Job) -> dict:
    return client.get(f"/api/tasks/{job.pk}").json()


def test_echolite_keeps_its_engine_estimate_until_three_trainings_like_it_have_finished(client, minute_video):
    first = jobs.prepare_training("EchoLite", minute_video, "cpu", 20, {})
    engine_seconds = first.params["estimated_seconds"]
    shown = estimate_of(client, first)
    assert shown["eta_seconds"] == engine_seconds and shown["estimate"] == {"seconds": engine_seconds, "learned_from": None}
    finish(first, took=2 * engine_seconds)
    for took in (2 * engine_seconds, 2 * engine_seconds):
        finish(jobs.prepare_training("EchoLite", minute_video, "cpu", 20, {}), took)
    # Failed trainings and trainings of another kind of run (time-budgeted, no epochs) teach nothing.
    finish(jobs.prepare_training("EchoLite", minute_video, "cpu", 20, {}), 10 * engine_seconds, Job.Status.FAILED)
    finish(jobs.prepare_training("EchoLite", minute_video, "cpu", None, {}), 10 * engine_seconds)

    waiting = jobs.prepare_training("EchoLite", minute_video, "cpu", 20, {})
    shown = estimate_of(client, waiting)
    assert shown["eta_seconds"] == pytest.approx(2 * engine_seconds, abs=1)
    assert shown["estimate"] == {"seconds": pytest.approx(2 * engine_seconds, abs=1), "learned_from": 3}
    assert waiting.params["estimate_learned_from"] == 3 and "estimated duration: about" in waiting.log


def test_ernerf_has_no_estimate_until_its_iterations_have_been_timed_here(client, minute_video):
    # The minute's 1500 frames train on 1363 (process.py keeps 10/11). `epoch` E plans E head epochs, the
    # lips finetune on to ceil(1.25 E) from there, and 2 E torso epochs in a workspace of their own.
    train_frames = 1363

    def took(epochs_run: int) -> float:  # 600 s of preprocessing and 0.2 s per iteration main.py runs
        return 600 + 0.2 * epochs_run * train_frames

    head_and_lips = {"torso": "false"}
    first = jobs.prepare_training("ER-NeRF", minute_video, "cuda:0", 4, head_and_lips)
    shown = estimate_of(client, first)
    assert shown["eta_seconds"] is None and shown["estimate"] is None
    finish(first, took(4 + 1))
    finish(jobs.prepare_training("ER-NeRF", minute_video, "cuda:0", 8, head_and_lips), took(8 + 2))
    finish(jobs.prepare_training("ER-NeRF", minute_video, "cuda:0", 16, head_and_lips), took(16 + 4))
    # SyncTalk's trainings are another engine's.
    assert estimate_of(client, jobs.prepare_training("SyncTalk", minute_video, "cuda:0", 4, head_and_lips))["estimate"] is None

    # With the torso (ER-NeRF's default) the training runs 8 head, 2 more lips and 16 torso epochs: the
    # estimate counts all of them, and the lips only beyond the head's.
    waiting = jobs.prepare_training("ER-NeRF", minute_video, "cuda:0", 8, {})
    assert waiting.params["workload"]["amount"] == (8 + 2 + 16) * train_frames
    shown = estimate_of(client, waiting)
    assert shown["eta_seconds"] == pytest.approx(took(8 + 2 + 16), abs=1)
    assert shown["estimate"]["learned_from"] == 3


def shown_before_it_starts(client, model_type: str, video: TrainingVideo, device: str, epochs: int) -> dict:
    """/api/tasks of a training queued alone (then cancelled): the job card's "done in about" is its ends_in_seconds."""
    job = jobs.prepare_training(model_type, video, device, epochs, {})
    shown = estimate_of(client, job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED, finished_at=timezone.now())
    return shown


@pytest.mark.parametrize("model_type, device", [("EchoLite", "cpu"), ("EchoLite", "cuda:0"), ("ER-NeRF", "cuda:0"), ("SyncTalk", "cuda:0")])
def test_the_estimate_shown_before_a_training_starts_grows_with_the_epochs_asked(client, minute_video, settings, model_type, device):
    settings.GPU_COUNT = 1
    if model_type != "EchoLite":  # estimated once 3 of its engine's trainings have been timed here
        for epochs, took in ((4, 2000), (8, 3400), (16, 6200)):
            finish(jobs.prepare_training(model_type, minute_video, device, epochs, {}), took)
    shown = [shown_before_it_starts(client, model_type, minute_video, device, epochs) for epochs in (5, 10, 40)]
    assert [card["device"] for card in shown] == [device] * 3 and all(card["starts_in_seconds"] == 0 for card in shown)
    # Each at the pace of its engine on that kind of device (a GPU's EchoLite epochs are not the CPU's).
    assert all(card["params"]["workload"]["basis"].startswith(f"train/{model_type}/{device.partition(':')[0]}/") for card in shown)
    ends = [card["ends_in_seconds"] for card in shown]
    assert 0 < ends[0] < ends[1] < ends[2], shown
    assert [card["estimate"]["seconds"] for card in shown] == ends


@pytest.mark.parametrize("language, unit", [("en", r"about \d+\.\d days"), ("zh-hans", r"约 \d+\.\d 天")])
def test_a_training_of_days_says_so_in_days(client, minute_video, language, unit):
    """99999 epochs (the page accepts up to 100000) said "预计用时: 约 22849.6 分钟" (22849.6 min): a length
    nobody reads in minutes. A short training still says its minutes."""
    import re

    long = jobs.prepare_training("EchoLite", minute_video, "cpu", 99999, {})
    short = jobs.prepare_training("EchoLite", minute_video, "cpu", 1, {})
    client.cookies["django_language"] = language
    assert re.fullmatch(r"(estimated duration|预计用时): " + unit, estimate_of(client, long)["log_tail"][0])
    assert re.fullmatch(r"(estimated duration: about|预计用时: 约) \d+\.\d (min|分钟)", estimate_of(client, short)["log_tail"][0])
