"""A deletion committed between a request's form check and its job: the request re-checks its rows in the
transaction that creates the job, holding the lock the deletion takes, so either the request is refused
(400, the row is gone) or the deletion is (409, the job reads the row); never a job left to fail."""
import threading

import pytest
from django.utils import timezone

from accounts.tests.conftest import error_message, session_client
from accounts.tests.test_own_deletion import model_of, reference_of, speaker_of, training_video_of
from assets.models import ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu import removal
from monitoring import repeats, runner
from monitoring.models import Job
from training.models import TalkingHeadModel


@pytest.fixture
def queued_only(settings):
    """Jobs are handed to a cluster that is not running: an accepted request answers at once, its job queued."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.1}


def checked_video(alice, media_root) -> TrainingVideo:
    video = training_video_of(alice, media_root)
    TrainingVideo.objects.filter(pk=video.pk).update(
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="Alice Example", consent_wording="test statement", consent_at=timezone.now())
    return video


TRAINING_FORM = {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/anna.mp4", "gpu_choice": "CPU", "epoch": "1"}


@pytest.mark.django_db
def test_a_video_deleted_after_the_form_accepted_it_refuses_the_training(alice, media_root, queued_only, monkeypatch):
    video = checked_video(alice, media_root)
    starting = repeats.start_once

    def deleted_first(*args, **kwargs):  # the form has found the video; the deletion commits before the job is made
        assert removal.delete_unless_in_use(TrainingVideo.objects.filter(pk=video.pk)) == {"assets.TrainingVideo": 1}
        return starting(*args, **kwargs)

    monkeypatch.setattr(repeats, "start_once", deleted_first)
    response = session_client(alice).post("/model_training", TRAINING_FORM)
    assert error_message(response, 400) == "ref_video: 训练视频已被删除: 请重新上传"
    assert not Job.objects.filter(kind=Job.Kind.TRAIN).exists() and not TrainingVideo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_deletion_sent_while_the_training_is_being_queued_is_refused(alice, media_root, queued_only, monkeypatch):
    """The deletion arrives while the request holds its lock: it waits, then finds the queued training."""
    video = checked_video(alice, media_root)
    locking = removal.lock_inputs
    answers = {}

    def delete_meanwhile():
        answers["delete"] = session_client(alice).post(f"/api/training-videos/{video.pk}/delete")

    def deletion_waits(*args, **kwargs):
        locking(*args, **kwargs)
        deleting = threading.Thread(target=delete_meanwhile)
        deleting.start()
        deleting.join(timeout=1.0)
        assert deleting.is_alive(), answers  # held at the lock until the job is committed
        answers["thread"] = deleting

    monkeypatch.setattr(removal, "lock_inputs", deletion_waits)
    training = session_client(alice).post("/model_training", TRAINING_FORM)
    answers["thread"].join(timeout=30)
    assert training.status_code == 200, training.content
    task_id = training.json()["task_id"]
    assert error_message(answers["delete"], 409) == f"仍被任务 {task_id} 使用: 请取消它或等它结束"
    assert TrainingVideo.objects.filter(pk=video.pk).exists() and Job.objects.get(pk=task_id).status == Job.Status.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize("deleted", ["model", "source video", "voice", "voice's recording", "reference", "rendered audio", "chat's reference"])
def test_a_job_is_not_made_for_a_row_deleted_since_its_request_was_checked(alice, media_root, deleted):
    reference = reference_of(alice, media_root)
    speaker_of(alice, media_root, reference)
    video = training_video_of(alice, media_root)
    model = model_of(alice, media_root, "anna", source_video=video)
    asked = {
        "model": (Job.Kind.RENDER, {"model_id": model.pk, "audio_path": reference.file.name}, "model_param"),
        "source video": (Job.Kind.CHAT, {"model_id": model.pk}, "model_param"),
        "voice": (Job.Kind.RENDER, {"model_id": model.pk, "text": "hello", "speaker_id": "anna"}, "speaker_id"),
        "voice's recording": (Job.Kind.SYNTHESIZE, {"text": "hello", "speaker_id": "anna"}, "audio_id"),  # /audio_clone's name for it
        "reference": (Job.Kind.CLONE, {"reference_path": reference.file.name, "speaker_id": "bella"}, ""),
        "rendered audio": (Job.Kind.RENDER, {"model_id": model.pk, "audio_path": reference.file.name}, "ref_audio"),
        "chat's reference": (Job.Kind.CHAT, {"model_id": model.pk, "voice_clone": True, "ref_audio_path": reference.file.name}, "ref_audio"),
    }
    kind, params, field = asked[deleted]
    rows = {"model": TalkingHeadModel.objects.filter(pk=model.pk), "source video": TrainingVideo.objects.filter(pk=video.pk),
            "voice": SpeakerProfile.objects.filter(speaker_id="anna"), "voice's recording": ReferenceAudio.objects.all(),
            "reference": ReferenceAudio.objects.all(), "rendered audio": ReferenceAudio.objects.all(),
            "chat's reference": ReferenceAudio.objects.all()}[deleted]
    assert runner.new_job(kind, params, owner=alice).kind == kind  # all there: made
    Job.objects.all().delete()
    removal.delete_unless_in_use(rows)
    with pytest.raises(removal.InputGone) as gone:
        runner.new_job(kind, params, owner=alice)
    assert gone.value.field == field and not Job.objects.exists()


@pytest.mark.django_db
def test_another_accounts_voice_of_the_same_name_does_not_stand_in(alice, bob, media_root):
    speaker_of(bob, media_root, reference_of(bob, media_root, "bobs.wav"))
    with pytest.raises(removal.InputGone):
        runner.new_job(Job.Kind.SYNTHESIZE, {"text": "hello", "speaker_id": "anna"}, owner=alice)
    assert runner.new_job(Job.Kind.SYNTHESIZE, {"text": "hello", "speaker_id": "anna"}, owner=bob).owner == bob


@pytest.mark.django_db
def test_a_voice_deleted_after_the_form_accepted_it_refuses_the_synthesis_as_its_form_would(alice, media_root, queued_only, monkeypatch):
    """The refusal names the field the request named the voice in (/audio_clone's audio_id), as the form does."""
    speaker_of(alice, media_root, reference_of(alice, media_root))
    form = {"generate_text": "hello", "audio_id": "anna"}
    starting = repeats.start_once

    def deleted_first(*args, **kwargs):
        assert removal.delete_unless_in_use(SpeakerProfile.objects.all()) == {"assets.SpeakerProfile": 1}
        return starting(*args, **kwargs)

    monkeypatch.setattr(repeats, "start_once", deleted_first)
    raced = error_message(session_client(alice).post("/audio_clone", form), 400)
    monkeypatch.undo()
    assert raced == error_message(session_client(alice).post("/audio_clone", form), 400) == "audio_id: 未知的说话人 'anna', 请先提取说话人特征"
    assert not Job.objects.exists()
