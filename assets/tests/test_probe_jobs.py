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
