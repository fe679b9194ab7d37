"""Deleting a catalog row, in the admin or by a queryset, removes the files it owns."""
import json

import pytest

from assets.models import ReferenceAudio, SpeakerProfile
from engines.testing.simple_media import write_plain_video, write_tone_wav
from generation.models import GeneratedVideo
from echofu.ownership import local_user
from limits.checks import storage_used
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Files go when the deletion commits: run what commit runs (the test's own transaction never does)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def admin_bulk_delete(admin_client, *rows):
    meta = rows[0]._meta
    response = admin_client.post(f"/admin/{meta.app_label}/{meta.model_name}/",
                            {"action": "delete_selected", "_selected_action": [row.pk for row in rows], "post": "yes"})
    assert response.status_code == 302, response.content[:300]


def handmade_ernerf_model(media_root, name):
    """An ER-NeRF model folder copied in by hand, which the registry discovers when it is asked for."""
    directory = media_root / "models/ER-NeRF" / name
    (directory / "checkpoints").mkdir(parents=True)
    (directory / "checkpoints/torso.pth").write_bytes(b"\0" * 64)
    (directory / "ernerf.json").write_text(json.dumps({"model_type": "ER-NeRF", "checkpoint": "checkpoints/torso.pth"}))
    return directory


def test_a_model_deleted_in_the_admin_does_not_come_back(client, admin_client, media_root, committed):
    directory = handmade_ernerf_model(media_root, "obama_v1")
    assert client.get("/api/model-details/ER-NeRF/obama_v1").status_code == 200  # discovered and registered
    model = TalkingHeadModel.objects.get()

    with committed():
        admin_bulk_delete(admin_client, model)
    assert not directory.exists() and (media_root / "models/ER-NeRF").is_dir()
    assert client.get("/api/model-details/ER-NeRF/obama_v1").status_code == 404
    assert client.get("/api/available-models").json()["total_count"] == 0
    assert not TalkingHeadModel.objects.exists()


def test_a_deleted_generated_video_is_no_longer_served_or_counted(client, media_root, committed):
    path = write_plain_video(media_root / "videos/res_videos/answer.mp4")
    user = local_user()  # the single-user studio's own account, whose files the anonymous client reads
    GeneratedVideo.objects.create(file="videos/res_videos/answer.mp4", size=path.stat().st_size, owner=user)
    assert client.get("/media/videos/res_videos/answer.mp4").status_code == 200
    assert storage_used(user) == path.stat().st_size

    with committed():
        GeneratedVideo.objects.all().delete()
    assert not path.exists()
    assert client.get("/media/videos/res_videos/answer.mp4").status_code == 404
    assert storage_used(user) == 0


def test_a_clip_another_row_still_names_is_kept_until_the_last_one_goes(media_root, committed):
    clip = write_tone_wav(media_root / "voices/speakers/anna.wav")
    conversion = media_root / "voices/speakers/anna.conversion.npz"
    conversion.write_bytes(b"fit")
    shared = {"clean_clip": "voices/speakers/anna.wav", "features": {"conversion": {"file": "voices/speakers/anna.conversion.npz"}}}
    first = SpeakerProfile.objects.create(speaker_id="anna", version=1, reference_path="voices/ref_voices/a.wav", **shared)
    SpeakerProfile.objects.create(speaker_id="anna", version=2, reference_path="voices/ref_voices/a.wav", **shared)

    with committed():
        first.delete()
    assert clip.is_file() and conversion.is_file()
    with committed():
        SpeakerProfile.objects.all().delete()
    assert not clip.exists() and not conversion.exists()


def test_only_files_inside_the_media_folder_are_removed(media_root, tmp_path, committed):
    outside = write_tone_wav(tmp_path / "outside.wav")
    (media_root / "voices/ref_voices/link.wav").symlink_to(outside)
    ReferenceAudio.objects.create(file="voices/ref_voices/link.wav")
    ReferenceAudio.objects.create(file=f"../{outside.parent.name}/outside.wav")
    ReferenceAudio.objects.create(file=str(outside))
    TalkingHeadModel.objects.create(model_type="ER-NeRF", name="..")
    handmade_ernerf_model(media_root, "kept")

    with committed():
        ReferenceAudio.objects.all().delete()
        TalkingHeadModel.objects.all().delete()
    assert outside.is_file()
    assert (media_root / "models/ER-NeRF/kept/ernerf.json").is_file() and (media_root / "voices/ref_voices").is_dir()


def test_a_deleted_conversation_leaves_no_folder(media_root, committed):
    from chat.models import Conversation, Turn

    conversation = Conversation.objects.create()
    turn = Turn.objects.create(conversation=conversation, input_text="hi")
    (media_root / turn.folder / "segments").mkdir(parents=True)
    (media_root / turn.folder / "question.wav").write_bytes(b"RIFF")
    turn.user_audio = f"{turn.folder}/question.wav"
    turn.save()
    folder = media_root / "chat" / str(conversation.pk)
    with committed():
        conversation.delete()
    assert not folder.exists() and (media_root / "chat").is_dir()
