"""The upload's video check as a job: a check that ended without a verdict is run again."""
import pytest
from django.utils import timezone

from assets.jobs import settled_probe, start_probe
from assets.models import TrainingVideo
from engines.testing.face_video import make_talking_face_video
from monitoring import runner
from monitoring.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("end", [runner.request_cancel, Job.delete], ids=["cancelled", "deleted in the admin"])
def test_a_check_ended_without_a_verdict_is_run_again_when_the_video_is_needed(media_root, end):
    path = make_talking_face_video(media_root / "videos/ref_videos/anna.mp4", seconds=2.0, size=256, seed=1)
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=path.stat().st_size,
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    first = start_probe(video, submit=False)
    end(first)  # cancelled from the home page, its worker lost, or deleted: no verdict on the video
    video = settled_probe(TrainingVideo.objects.get(pk=video.pk), 60)
    assert video.probe_status == TrainingVideo.ProbeStatus.OK and video.probe["checks"]
    assert video.probe_job_id not in (None, first.pk) and Job.objects.get(pk=video.probe_job_id).status == Job.Status.SUCCEEDED


def test_a_check_whose_worker_died_is_run_again_when_the_videos_are_listed(client, media_root):
    """The recovery marks the probe failed but the video stayed 'pending': the training page showed
    'checking...' for good, polling every 2 s, until someone asked to train with it."""
    path = make_talking_face_video(media_root / "videos/ref_videos/anna.mp4", seconds=2.0, size=256, seed=1)
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=path.stat().st_size,
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    lost = start_probe(video, submit=False)
    Job.objects.filter(pk=lost.pk).update(status=Job.Status.RUNNING, started_at=timezone.now(), worker="elsewhere:1")
    Job.objects.filter(pk=lost.pk).update(**runner.ended(Job.Status.FAILED, error="the worker running this job stopped"))

    [listed] = client.get("/api/training-videos").json()["files"]
    assert listed["probe_status"] == "ok" and listed["probe"]["checks"], listed  # checks run inline in the tests
    video.refresh_from_db()
    assert video.probe_job_id != lost.pk


def test_the_checks_log_lines_are_shown_in_the_pages_language(client, media_root):
    # Stored as anna_3.mp4 since others uploaded an anna.mp4 before; its owner knows it as anna.
    path = make_talking_face_video(media_root / "videos/ref_videos/anna_3.mp4", seconds=2.0, size=256, seed=1)
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna_3.mp4", original_name="anna.mp4", name="anna", size=path.stat().st_size,
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    job = start_probe(video, submit=False)
    runner.execute(job.pk)

    def log_tail(language):
        client.cookies["django_language"] = language
        return [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]]

    assert log_tail("en")[:2] == ["probing anna", "EchoLite input check"]
    assert log_tail("zh-hans")[:2] == ["读取视频 anna", "EchoLite 输入检查"]


def test_a_failed_checks_reason_is_in_the_readers_language(client, media_root):
    """The reason was kept as English text: the Chinese training page and /model_training's Chinese
    refusal said "not readable as audio or video (...)" inside their Chinese."""
    (media_root / "videos/ref_videos/anna.mp4").write_bytes(b"not a video at all" * 100)
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=1800,
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    runner.execute(start_probe(video, submit=False).pk)

    def listed(language):
        client.cookies["django_language"] = language
        [row] = client.get("/api/training-videos").json()["files"]
        return row

    assert listed("en")["probe_status"] == "failed" and listed("en")["probe_error"].startswith("not readable as audio or video (")
    assert listed("zh-hans")["probe_error"].startswith("无法读取为音频或视频 (")
    assert str(media_root) not in listed("en")["probe_error"]
    refused = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/anna.mp4"})
    assert refused.status_code == 400 and refused.json()["status"] == "error"
    assert "视频检查失败: 无法读取为音频或视频 (" in refused.json()["message"]
    assert TrainingVideo.objects.get().probe_error.startswith("not readable as audio or video (")  # the English text stays on the row
