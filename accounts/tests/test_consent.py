"""Consent before a face or voice is used, and staff revocation, through the HTTP API."""
import pytest
from django.utils import timezone

from accounts.tests.conftest import error_message, session_client, upload_audio, upload_video
from assets.models import ReferenceAudio, SpeakerProfile, TrainingVideo
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def test_upload_without_a_statement_is_refused_and_nothing_is_stored(alice, wav_file, plain_video, media_root, settings):
    client = session_client(alice)
    with open(wav_file, "rb") as handle:
        assert "consent" in error_message(client.post("/api/upload-reference-audio", {"audio": handle}), 400)
    with open(plain_video, "rb") as handle:
        assert "consent" in error_message(client.post("/api/upload-training-video", {"video": handle, "consent": "no"}), 400)
    for name in ("", " ", "x" * 201, "Anna\x00Li", "\u202eAnna"):
        assert "consent_name" in error_message(upload_audio(client, wav_file, consent_name=name), 400), repr(name)
    assert ReferenceAudio.objects.count() == TrainingVideo.objects.count() == 0
    assert list((media_root / "voices/ref_voices").iterdir()) == list((media_root / "videos/ref_videos").iterdir()) == []

    before = timezone.now()
    assert upload_video(client, plain_video, consent_name="李安娜").status_code == 200
    video = TrainingVideo.objects.get()
    assert video.consent_name == "李安娜" and video.consent_by == alice and video.consent_at >= before
    assert video.consent_wording == settings.ECHOFU["CONSENT_WORDING"] and video.consent_method == "form"


def test_single_user_statement_is_an_explicit_setting(settings, client, wav_file):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True, "SINGLE_USER_CONSENT": ""}
    with open(wav_file, "rb") as handle:
        assert "ECHOFU_SINGLE_USER_CONSENT" in error_message(client.post("/api/upload-reference-audio", {"audio": handle}), 400)
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER_CONSENT": "Wang Wei", "SINGLE_USER_CONSENT_WORDING": "I, the operator, agree."}
    with open(wav_file, "rb") as handle:
        assert client.post("/api/upload-reference-audio", {"audio": handle}).status_code == 200
    row = ReferenceAudio.objects.get()
    assert (row.consent_name, row.consent_wording, row.consent_method) == ("Wang Wei", "I, the operator, agree.", "setting")


def test_no_training_or_voice_extraction_without_a_statement(alice, wav_file, plain_video, media_root):
    client = session_client(alice)
    # Files that reached the catalog without a statement (copied in, found by scan_media).
    (media_root / "videos/ref_videos/found.mp4").write_bytes(plain_video.read_bytes())
    TrainingVideo.objects.create(file="videos/ref_videos/found.mp4", owner=alice, probe_status="ok", probe={"errors": []})
    (media_root / "voices/ref_voices/found.wav").write_bytes(wav_file.read_bytes())
    ReferenceAudio.objects.create(file="voices/ref_voices/found.wav", owner=alice)
    message = error_message(client.post("/model_training", {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/found.mp4"}), 400)
    assert "同意声明" in message
    message = error_message(client.post("/audio_clone", {"original_audio_path": "media/voices/ref_voices/found.wav"}), 400)
    assert "同意声明" in message
    one_shot = client.post("/audio_clone", {"ref_audio_path": "media/voices/ref_voices/found.wav", "generate_text": "hi"})
    assert "同意声明" in error_message(one_shot, 400)
    assert SpeakerProfile.objects.count() == 0


def test_staff_revocation_disables_models_voices_and_renders(alice, staff, wav_file, plain_video, media_root):
    client, curator = session_client(alice), session_client(staff)
    video = upload_video(client, plain_video).json()
    audio = upload_audio(client, wav_file).json()
    video_row, audio_row = TrainingVideo.objects.get(), ReferenceAudio.objects.get()
    (media_root / "models/EchoLite/anna_v1").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="anna_v1", source_video=video_row, owner=alice)
    SpeakerProfile.objects.create(speaker_id="anna", reference=audio_row, reference_path=audio_row.file.name, owner=alice)
    assert client.get("/api/available-models").json()["total_count"] == 1
    assert client.get("/api/cloned-audios").json()["total_count"] == 1
    # Only staff revoke: the admin is closed to Alice.
    refused = client.post("/admin/assets/referenceaudio/", {"action": "revoke_consent", "_selected_action": [audio_row.pk]})
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    assert not ReferenceAudio.objects.get().revoked

    for model_name, pk in (("trainingvideo", video_row.pk), ("referenceaudio", audio_row.pk)):
        response = curator.post(f"/admin/assets/{model_name}/", {"action": "revoke_consent", "_selected_action": [pk]})
        assert response.status_code == 302
    video_row.refresh_from_db()
    assert video_row.revoked and video_row.revoked_by == staff

    assert client.get("/api/available-models").json()["total_count"] == 0
    assert client.get("/api/cloned-audios").json()["total_count"] == 0
    render = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/anna_v1", "ref_audio": audio["relative_path"]})
    assert "撤销" in error_message(render, 400)
    spoken = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/anna_v1", "target_text": "hi", "speaker_id": "anna"})
    assert "撤销" in error_message(spoken, 400)
    assert "撤销" in error_message(client.post("/audio_clone", {"generate_text": "hi", "audio_id": "anna"}), 400)
    assert "撤销" in error_message(client.post("/model_training", {"model_choice": "EchoLite", "ref_video": video["relative_path"]}), 400)
    assert "撤销" in error_message(client.post("/audio_clone", {"original_audio_path": audio["relative_path"]}), 400)
    assert ReferenceAudio.objects.get().revoked_by == staff


def test_revocation_while_a_job_runs_stops_its_output(alice, wav_file, media_root, tmp_path):
    from monitoring import runner
    from monitoring.models import Job
    from provenance.stamping import finish_audio
    from assets.consent import ConsentMissing, revoke
    from echofu.uploads import claim_unique_path

    upload_audio(session_client(alice), wav_file)
    reference = ReferenceAudio.objects.get()
    profile = SpeakerProfile.objects.create(speaker_id="anna", reference=reference, reference_path=reference.file.name, owner=alice)
    revoke(ReferenceAudio.objects.all())
    job = runner.new_job(Job.Kind.SYNTHESIZE, {}, owner=alice)
    temp = tmp_path / "speech.wav"
    temp.write_bytes(wav_file.read_bytes())
    target = claim_unique_path(media_root / "voices/res_voices", "speech.wav")
    with pytest.raises(ConsentMissing):
        finish_audio(temp, target, job, profile)
    assert list((media_root / "voices/res_voices").iterdir()) == []


def test_deleting_a_source_deletes_the_models_and_voices_made_from_it(alice, staff, wav_file, plain_video, media_root,
                                                                     django_capture_on_commit_callbacks):
    client, curator = session_client(alice), session_client(staff)
    upload_video(client, plain_video)
    upload_audio(client, wav_file)
    video_row, audio_row = TrainingVideo.objects.get(), ReferenceAudio.objects.get()
    (media_root / "models/EchoLite/anna_v1").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="anna_v1", source_video=video_row, owner=alice)
    (media_root / "voices/speakers/anna.wav").write_bytes(wav_file.read_bytes())
    SpeakerProfile.objects.create(speaker_id="anna", reference=audio_row, reference_path=audio_row.file.name,
                                  clean_clip="voices/speakers/anna.wav", owner=alice)
    # Made without a source (found on disk by a scan): nothing to delete it with, it stays usable.
    (media_root / "models/EchoLite/found").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="found", person="found", source="scan", owner=alice)

    with django_capture_on_commit_callbacks(execute=True):
        for model_name, row in (("trainingvideo", video_row), ("referenceaudio", audio_row)):
            deleted = curator.post(f"/admin/assets/{model_name}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
            assert deleted.status_code == 302

    assert list(TalkingHeadModel.objects.values_list("name", flat=True)) == ["found"] and not SpeakerProfile.objects.exists()
    assert [model["name"] for model in client.get("/api/available-models").json()["models"]] == ["found"]
    assert "模型不存在" in error_message(client.get("/api/model-details/EchoLite/anna_v1"), 404)
    assert client.get("/api/cloned-audios").json()["total_count"] == 0
    assert "未知的说话人" in error_message(client.post("/audio_clone", {"generate_text": "hi", "audio_id": "anna"}), 400)
    for gone in (video_row.file.name, audio_row.file.name, "models/EchoLite/anna_v1", "voices/speakers/anna.wav"):
        assert not (media_root / gone).exists(), gone


def test_a_refusal_for_want_of_consent_says_what_is_missing_for_the_pages_to_ask_in_their_words(alice, wav_file, settings, client):
    """API clients read the API's wording in `message`; `consent_missing` (addition) lets the pages
    ask for the box and the name in their own words instead."""
    as_alice = session_client(alice)
    with open(wav_file, "rb") as handle:
        unstated = as_alice.post("/api/upload-reference-audio", {"audio": handle})
    assert unstated.status_code == 400
    assert unstated.json()["consent_missing"] == "statement" and "consent=true" in unstated.json()["message"]
    with open(wav_file, "rb") as handle:  # a box sent unticked states nothing either
        declined = as_alice.post("/api/upload-reference-audio", {"audio": handle, "consent": "false", "consent_name": "Anna"})
    assert declined.status_code == 400
    assert declined.json()["consent_missing"] == "statement" and "consent 必须为 true" in declined.json()["message"]
    unnamed = upload_audio(as_alice, wav_file, consent_name=" ")
    assert unnamed.status_code == 400 and unnamed.json()["consent_missing"] == "name"
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True, "SINGLE_USER_CONSENT": ""}
    with open(wav_file, "rb") as handle:
        unset = client.post("/api/upload-reference-audio", {"audio": handle})
    assert unset.status_code == 400 and unset.json()["consent_missing"] == "statement_or_setting"
    assert ReferenceAudio.objects.count() == 0
