"""A training video stored before ECHOFU_MAX_VIDEO_SIDE was checked, or under a higher one, is refused by the
jobs that read it (its check, its training) before a frame is decoded, with a failure saying why."""
import pytest
from django.utils import timezone

from assets.jobs import start_probe
from assets.models import TrainingVideo
from engines import media
from engines.testing.simple_media import write_plain_video
from monitoring import runner
from monitoring.models import Job
from training import jobs
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

REFUSAL = "the video's frames are too large: 64 x 48 pixels, at most 60 on a side"


@pytest.fixture
def wide_video(media_root, settings, monkeypatch):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_VIDEO_SIDE": 60}  # lowered after the video was stored
    path = write_plain_video(media_root / "videos/ref_videos/wide.mp4", seconds=1.0, size=(64, 48))
    video = TrainingVideo.objects.create(file="videos/ref_videos/wide.mp4", original_name="wide.mp4", size=path.stat().st_size,
                                         probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    video.decoded = []  # a frame of it decoded by probe (its first) or by iter_video_frames
    first_frame, frames = media._first_frame, media.iter_video_frames
    monkeypatch.setattr(media, "_first_frame", lambda *args: video.decoded.append("first") or first_frame(*args))
    monkeypatch.setattr(media, "iter_video_frames", lambda *args, **kwargs: (video.decoded.append("frame") or frame
                                                                             for frame in frames(*args, **kwargs)))
    return video


def test_its_training_fails_saying_the_frames_are_too_large(wide_video):
    job = jobs.prepare_training("EchoLite", wide_video, "cpu", 1, {})
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and REFUSAL in job.error, job.error
    assert not TalkingHeadModel.objects.exists()
    assert wide_video.decoded == []


def test_its_check_fails_saying_the_frames_are_too_large(wide_video):
    runner.execute(start_probe(wide_video, submit=False).pk)
    wide_video.refresh_from_db()
    assert wide_video.probe_status == TrainingVideo.ProbeStatus.FAILED and REFUSAL in wide_video.probe_error
    assert wide_video.decoded == []
