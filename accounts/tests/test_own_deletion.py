"""Deleting one's own uploads, voices, synthesised speech, models, renders and chat turns from the studio (the .../delete additions):
the row and its files go, with what was made from it; another account's rows are a 404 and stay; a row a
queued or running job still reads is refused with 409 and everything kept."""
import pytest

from accounts.tests.conftest import error_message
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from chat.models import Conversation, Turn
from echofu.ownership import local_user
from engines.testing.simple_media import write_plain_video, write_tone_wav
from generation.models import GeneratedVideo
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Files go when the deletion commits: run what commit runs (the test's own transaction never does)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def reference_of(owner, media_root, name="anna.wav"):
    write_tone_wav(media_root / "voices/ref_voices" / name)
    return ReferenceAudio.objects.create(file=f"voices/ref_voices/{name}", owner=owner, name=name.split(".")[0])


def training_video_of(owner, media_root, name="anna.mp4"):
    write_plain_video(media_root / "videos/ref_videos" / name)
    return TrainingVideo.objects.create(file=f"videos/ref_videos/{name}", owner=owner, name=name.split(".")[0])


def model_of(owner, media_root, name, source_video=None):
    (media_root / "models/EchoLite" / name).mkdir(parents=True)
    (media_root / "models/EchoLite" / name / "model.npz").write_bytes(b"weights")
    return TalkingHeadModel.objects.create(model_type="EchoLite", name=name, owner=owner, source_video=source_video)


def speaker_of(owner, media_root, reference, speaker_id="anna", version=1):
    clip = f"voices/speakers/{speaker_id}_v{version}_{owner.pk}.wav"
    write_tone_wav(media_root / clip)
    return SpeakerProfile.objects.create(speaker_id=speaker_id, version=version, reference=reference,
                                         reference_path=reference.file.name, clean_clip=clip, owner=owner)


def active_job(kind, owner, status=Job.Status.QUEUED, **params):
    return Job.objects.create(id=f"{kind}_{Job.objects.count()}", kind=kind, status=status, params=params, owner=owner)


def test_deleting_a_training_video_removes_it_its_models_and_their_files(alice, as_alice, media_root, committed):
    video = training_video_of(alice, media_root)
    model = model_of(alice, media_root, "train_1", source_video=video)
    Job.objects.create(id="train_1", kind=Job.Kind.TRAIN, status=Job.Status.SUCCEEDED, params={"video_id": video.pk}, owner=alice)

    with committed():
        response = as_alice.post(f"/api/training-videos/{video.pk}/delete")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success" and body["message"] == "已删除"
    assert body["deleted"] == {"assets.TrainingVideo": 1, "training.TalkingHeadModel": 1}
    assert not TrainingVideo.objects.exists() and not TalkingHeadModel.objects.filter(pk=model.pk).exists()
    assert not (media_root / "videos/ref_videos/anna.mp4").exists()
    assert not (media_root / "models/EchoLite/train_1").exists()
    assert as_alice.get("/api/training-videos").json()["files"] == []


def test_deleting_a_reference_audio_removes_it_and_the_voices_cloned_from_it(alice, as_alice, media_root, committed):
    reference = reference_of(alice, media_root)
    profile = speaker_of(alice, media_root, reference)

    with committed():
        response = as_alice.post(f"/api/reference-audios/{reference.pk}/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"assets.ReferenceAudio": 1, "assets.SpeakerProfile": 1}
    assert not ReferenceAudio.objects.exists() and not SpeakerProfile.objects.exists()
    assert not (media_root / "voices/ref_voices/anna.wav").exists()
    assert not (media_root / profile.clean_clip.name).exists()


def test_deleting_a_voice_removes_every_version_of_it_and_no_one_elses(alice, bob, as_alice, media_root, committed):
    reference = reference_of(alice, media_root)
    first, second = speaker_of(alice, media_root, reference, version=1), speaker_of(alice, media_root, reference, version=2)
    bobs = speaker_of(bob, media_root, reference_of(bob, media_root, "bob.wav"))  # also called anna

    with committed():
        response = as_alice.post("/api/cloned-audios/anna/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"assets.SpeakerProfile": 2}
    assert list(SpeakerProfile.objects.all()) == [bobs]
    assert ReferenceAudio.objects.filter(pk=reference.pk).exists()  # the recording stays: a new voice can be cloned from it
    assert not (media_root / first.clean_clip.name).exists() and not (media_root / second.clean_clip.name).exists()
    assert (media_root / bobs.clean_clip.name).is_file()


def test_deleting_one_version_of_a_voice_keeps_its_other_versions_and_its_provenance(alice, bob, as_alice, media_root, committed):
    reference = reference_of(alice, media_root)
    first, second, third = (speaker_of(alice, media_root, reference, version=version) for version in (1, 2, 3))
    bobs = speaker_of(bob, media_root, reference_of(bob, media_root, "bob.wav"), version=2)  # also anna v2
    ProvenanceRecord.objects.create(request_id="tts_1", kind="audio", file="voices/res_voices/a.wav", sha256="0" * 64, owner=alice,
                                    speaker=second, record={"voice_id": "anna v2"})
    assert [version["version"] for version in as_alice.get("/api/cloned-audios").json()["audios"][0]["versions"]] == [3, 2, 1]

    with committed():
        response = as_alice.post("/api/cloned-audios/anna/versions/2/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"assets.SpeakerProfile": 1}
    assert set(SpeakerProfile.objects.all()) == {first, third, bobs}
    assert not (media_root / second.clean_clip.name).exists() and (media_root / first.clean_clip.name).is_file()
    assert (media_root / bobs.clean_clip.name).is_file()
    assert ProvenanceRecord.objects.get(request_id="tts_1").record["voice_id"] == "anna v2"  # verify_media still names it
    [voice] = as_alice.get("/api/cloned-audios").json()["audios"]
    assert (voice["version"], [version["version"] for version in voice["versions"]]) == (3, [3, 1])


def test_deleting_the_last_version_of_a_voice_deletes_the_voice_and_its_number_is_not_given_again(alice, as_alice, media_root, committed):
    from echofu.versioning import create_next_version

    reference = reference_of(alice, media_root)
    create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=alice.pk, reference=reference, reference_path=reference.file.name)
    with committed():
        assert as_alice.post("/api/cloned-audios/anna/versions/1/delete").status_code == 200
    assert not SpeakerProfile.objects.exists() and as_alice.get("/api/cloned-audios").json()["audios"] == []
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=alice.pk, reference_path="again.wav").version == 2


def test_a_version_a_job_may_still_speak_with_is_refused_and_an_older_one_is_not(alice, as_alice, media_root, committed):
    """Jobs speak with the newest version they find: a queued one with the newest, a running one with one
    that was the newest at some moment since it began."""
    from django.utils import timezone

    reference = reference_of(alice, media_root)
    first, second = speaker_of(alice, media_root, reference, version=1), speaker_of(alice, media_root, reference, version=2)
    running = active_job(Job.Kind.RENDER, alice, Job.Status.RUNNING, speaker_id="anna")
    Job.objects.filter(pk=running.pk).update(started_at=timezone.now())
    third = speaker_of(alice, media_root, reference, version=3)
    queued = active_job(Job.Kind.SYNTHESIZE, alice, speaker_id="anna", text="hello")
    in_use_by = "仍被任务 {} 使用: 请取消它或等它结束".format

    with committed():
        assert as_alice.post("/api/cloned-audios/anna/versions/1/delete").status_code == 200  # v2 came before either job
        response = as_alice.post("/api/cloned-audios/anna/versions/2/delete")  # the newest when the render began
        assert error_message(response, 409) == in_use_by(running.pk) and response.json()["state"] == "running"
        assert error_message(as_alice.post("/api/cloned-audios/anna/versions/3/delete"), 409) == in_use_by(running.pk)
    assert set(SpeakerProfile.objects.all()) == {second, third} and not (media_root / first.clean_clip.name).exists()

    Job.objects.filter(pk=running.pk).update(status=Job.Status.SUCCEEDED)
    with committed():
        assert error_message(as_alice.post("/api/cloned-audios/anna/versions/3/delete"), 409) == in_use_by(queued.pk)
        assert as_alice.post("/api/cloned-audios/anna/versions/2/delete").status_code == 200
    assert list(SpeakerProfile.objects.all()) == [third]


def test_a_clone_in_progress_keeps_only_the_last_version_of_its_voice(alice, as_alice, media_root, committed):
    """Making a new version reads none of the others; the last one is the voice, which a clone still makes."""
    reference = reference_of(alice, media_root)
    first, second = speaker_of(alice, media_root, reference, version=1), speaker_of(alice, media_root, reference, version=2)
    clone = active_job(Job.Kind.CLONE, alice, Job.Status.RUNNING, speaker_id="anna", reference_path=reference.file.name)

    with committed():
        assert as_alice.post("/api/cloned-audios/anna/versions/2/delete").status_code == 200
        assert error_message(as_alice.post("/api/cloned-audios/anna/versions/1/delete"), 409) == f"仍被任务 {clone.pk} 使用: 请取消它或等它结束"
    assert list(SpeakerProfile.objects.all()) == [first]


def test_another_accounts_or_a_missing_version_is_a_404_and_stays(alice, as_bob, media_root, client, committed):
    profile = speaker_of(alice, media_root, reference_of(alice, media_root))
    assert error_message(as_bob.post("/api/cloned-audios/anna/versions/1/delete"), 404) == "说话人 anna 没有版本 v1"
    error_message(as_bob.post("/api/cloned-audios/anna/versions/one/delete"), 404)
    error_message(as_bob.get("/api/cloned-audios/anna/versions/1/delete"), 405)
    assert SpeakerProfile.objects.filter(pk=profile.pk).exists() and (media_root / profile.clean_clip.name).is_file()


def test_deleting_a_model_removes_its_folder_and_keeps_the_videos_rendered_with_it(alice, as_alice, media_root, committed):
    model = model_of(alice, media_root, "train_1")
    write_plain_video(media_root / "videos/res_videos/out.mp4")
    video = GeneratedVideo.objects.create(file="videos/res_videos/out.mp4", model=model, owner=alice)

    with committed():
        response = as_alice.post(f"/api/available-models/{model.pk}/delete")
    assert response.status_code == 200, response.content
    assert not TalkingHeadModel.objects.exists() and not (media_root / "models/EchoLite/train_1").exists()
    video.refresh_from_db()
    assert video.model is None and (media_root / "videos/res_videos/out.mp4").is_file()


def test_deleting_a_rendered_video_takes_the_speech_made_for_it_and_keeps_its_provenance(alice, as_alice, media_root, committed):
    render = Job.objects.create(id="render_1", kind=Job.Kind.RENDER, status=Job.Status.SUCCEEDED, owner=alice)
    write_tone_wav(media_root / "voices/res_voices/speech.wav")
    speech = GeneratedAudio.objects.create(file="voices/res_voices/speech.wav", job=render, owner=alice)
    write_tone_wav(media_root / "voices/res_voices/kept.wav")  # spoken on its own, then rendered: not the render's
    spoken = GeneratedAudio.objects.create(file="voices/res_voices/kept.wav", owner=alice)
    write_plain_video(media_root / "videos/res_videos/out.mp4")
    video = GeneratedVideo.objects.create(file="videos/res_videos/out.mp4", audio_path=speech.file.name, job=render, owner=alice)
    ProvenanceRecord.objects.create(request_id="render_1", kind="video", file=video.file.name, sha256="0" * 64, owner=alice, job=render)
    entry = as_alice.get("/api/history/video_generation").json()[0]
    assert entry["video_id"] == video.pk

    with committed():
        response = as_alice.post(f"/api/generated-videos/{entry['video_id']}/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"generation.GeneratedVideo": 1, "assets.GeneratedAudio": 1}
    assert not (media_root / "videos/res_videos/out.mp4").exists() and not (media_root / "voices/res_voices/speech.wav").exists()
    assert list(GeneratedAudio.objects.all()) == [spoken] and (media_root / "voices/res_voices/kept.wav").is_file()
    assert ProvenanceRecord.objects.filter(request_id="render_1").exists()  # verify_media still knows copies made before
    assert as_alice.get("/api/history/video_generation").json() == []


def synthesised_speech_of(owner, media_root, name="speech.wav"):
    job = Job.objects.create(id=f"tts_{Job.objects.count()}", kind=Job.Kind.SYNTHESIZE, status=Job.Status.SUCCEEDED, owner=owner,
                             params={"text": "hello", "speaker_id": "anna"})
    write_tone_wav(media_root / "voices/res_voices" / name)
    speech = GeneratedAudio.objects.create(file=f"voices/res_voices/{name}", job=job, owner=owner, text="hello")
    Job.objects.filter(pk=job.pk).update(result={"cloned_audio_path": speech.relative_path, "audio_id": speech.pk})
    return speech


def test_deleting_synthesised_speech_removes_it_keeps_the_videos_rendered_from_it_and_its_provenance(alice, as_alice, media_root, committed):
    speech = synthesised_speech_of(alice, media_root)
    ProvenanceRecord.objects.create(request_id=speech.job_id, kind="audio", file=speech.file.name, sha256="0" * 64, owner=alice, job=speech.job)
    write_plain_video(media_root / "videos/res_videos/out.mp4")
    video = GeneratedVideo.objects.create(file="videos/res_videos/out.mp4", audio_path=speech.file.name, owner=alice)
    entry = as_alice.get("/api/history/audio_clone").json()[0]
    assert entry["audio_id"] == speech.pk

    with committed():
        response = as_alice.post(f"/api/generated-audios/{entry['audio_id']}/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"assets.GeneratedAudio": 1}
    assert not GeneratedAudio.objects.exists() and not (media_root / "voices/res_voices/speech.wav").exists()
    assert GeneratedVideo.objects.filter(pk=video.pk).exists() and (media_root / "videos/res_videos/out.mp4").is_file()
    assert ProvenanceRecord.objects.filter(request_id=speech.job_id).exists()
    # the job stays in the history with what it made then; the page lists speech by its audio_id
    entry = as_alice.get("/api/history/audio_clone").json()[0]
    assert entry["audio_id"] is None and entry["result"]["audio_id"] == speech.pk
    error_message(as_alice.post(f"/api/generated-audios/{speech.pk}/delete"), 404)


@pytest.mark.parametrize("kind, status, field", [
    (Job.Kind.RENDER, Job.Status.QUEUED, "audio_path"),  # a render driven by it
    (Job.Kind.RENDER, Job.Status.RUNNING, "audio_path"),
    (Job.Kind.SYNTHESIZE, Job.Status.QUEUED, "reference_path"),  # one-shot cloning from it
])
def test_synthesised_speech_a_job_still_reads_is_refused_and_kept(alice, as_alice, media_root, committed, kind, status, field):
    speech = synthesised_speech_of(alice, media_root)
    job = active_job(kind, alice, status, **{field: speech.file.name})

    with committed():
        response = as_alice.post(f"/api/generated-audios/{speech.pk}/delete")
    assert error_message(response, 409) == f"仍被任务 {job.pk} 使用: 请取消它或等它结束"
    assert response.json()["task_id"] == job.pk and response.json()["state"] == status
    assert GeneratedAudio.objects.filter(pk=speech.pk).exists() and (media_root / "voices/res_voices/speech.wav").is_file()


def test_speech_whose_synthesis_has_not_ended_is_refused(alice, as_alice, media_root):
    speech = synthesised_speech_of(alice, media_root)
    Job.objects.filter(pk=speech.job_id).update(status=Job.Status.RUNNING)

    error_message(as_alice.post(f"/api/generated-audios/{speech.pk}/delete"), 409)
    assert GeneratedAudio.objects.filter(pk=speech.pk).exists()


def test_deleting_a_chat_turn_removes_its_recording_and_answer(alice, as_alice, media_root, committed):
    conversation = Conversation.objects.create(owner=alice)
    turn = Turn.objects.create(conversation=conversation, status=Turn.Status.SUCCEEDED)
    folder = media_root / turn.folder
    folder.mkdir(parents=True)
    write_tone_wav(folder / "question.wav")
    write_plain_video(folder / "answer.mp4")
    Turn.objects.filter(pk=turn.pk).update(user_audio=f"{turn.folder}/question.wav", reply_video=f"{turn.folder}/answer.mp4")

    with committed():
        response = as_alice.post(f"/api/chat/turns/{turn.pk}/delete")
    assert response.status_code == 200, response.content
    assert not Turn.objects.exists() and not folder.exists()
    assert as_alice.get(f"/api/chat/turns/{turn.pk}").status_code == 404


def test_a_failed_chat_turn_is_deleted_with_its_recording(alice, as_alice, media_root, committed):
    job = Job.objects.create(id="chat_1", kind=Job.Kind.CHAT, status=Job.Status.FAILED, owner=alice)
    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice), status=Turn.Status.FAILED, job=job,
                               error_stage=Turn.Stage.LLM)
    folder = media_root / turn.folder
    folder.mkdir(parents=True)
    write_tone_wav(folder / "question.wav")
    Turn.objects.filter(pk=turn.pk).update(user_audio=f"{turn.folder}/question.wav")

    with committed():
        response = as_alice.post(f"/api/chat/turns/{turn.pk}/delete")
    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == {"chat.Turn": 1}
    assert not Turn.objects.exists() and not folder.exists()
    assert as_alice.get("/api/history/chat").json() == []


def test_another_accounts_rows_are_a_404_and_stay(alice, as_bob, media_root, committed):
    video = training_video_of(alice, media_root)
    reference = reference_of(alice, media_root)
    model = model_of(alice, media_root, "train_1", source_video=video)
    speaker_of(alice, media_root, reference)
    write_plain_video(media_root / "videos/res_videos/out.mp4")
    rendered = GeneratedVideo.objects.create(file="videos/res_videos/out.mp4", owner=alice)
    speech = synthesised_speech_of(alice, media_root)
    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice), status=Turn.Status.SUCCEEDED)

    with committed():
        for address in (f"/api/training-videos/{video.pk}/delete", f"/api/reference-audios/{reference.pk}/delete",
                        f"/api/available-models/{model.pk}/delete", "/api/cloned-audios/anna/delete",
                        f"/api/generated-videos/{rendered.pk}/delete", f"/api/generated-audios/{speech.pk}/delete",
                        f"/api/chat/turns/{turn.pk}/delete"):
            error_message(as_bob.post(address), 404)
    assert (TrainingVideo.objects.count(), ReferenceAudio.objects.count(), TalkingHeadModel.objects.count(), SpeakerProfile.objects.count(),
            GeneratedVideo.objects.count(), GeneratedAudio.objects.count(), Turn.objects.count()) == (1, 1, 1, 1, 1, 1, 1)
    assert (media_root / "videos/ref_videos/anna.mp4").is_file() and (media_root / "models/EchoLite/train_1/model.npz").is_file()
    assert (media_root / "videos/res_videos/out.mp4").is_file() and (media_root / "voices/res_voices/speech.wav").is_file()


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING])
def test_a_training_video_a_training_still_reads_is_refused_and_kept(alice, as_alice, media_root, committed, status):
    video = training_video_of(alice, media_root)
    job = active_job(Job.Kind.TRAIN, alice, status, video_id=video.pk)

    with committed():
        response = as_alice.post(f"/api/training-videos/{video.pk}/delete")
    assert error_message(response, 409) == f"仍被任务 {job.pk} 使用: 请取消它或等它结束"
    assert response.json()["task_id"] == job.pk and response.json()["state"] == status
    assert TrainingVideo.objects.filter(pk=video.pk).exists() and (media_root / "videos/ref_videos/anna.mp4").is_file()


def test_a_training_video_whose_model_a_render_uses_is_refused_and_all_kept(alice, as_alice, media_root, committed):
    video = training_video_of(alice, media_root)
    model = model_of(alice, media_root, "train_1", source_video=video)
    active_job(Job.Kind.RENDER, alice, Job.Status.RUNNING, model_id=model.pk)

    with committed():
        error_message(as_alice.post(f"/api/training-videos/{video.pk}/delete"), 409)
        error_message(as_alice.post(f"/api/available-models/{model.pk}/delete"), 409)
    assert TalkingHeadModel.objects.filter(pk=model.pk).exists() and (media_root / "models/EchoLite/train_1/model.npz").is_file()
    assert TrainingVideo.objects.filter(pk=video.pk).exists()


def test_a_voice_or_its_recording_a_job_still_speaks_with_is_refused_and_kept(alice, as_alice, media_root, committed):
    reference = reference_of(alice, media_root)
    profile = speaker_of(alice, media_root, reference)
    active_job(Job.Kind.SYNTHESIZE, alice, speaker_id="anna", text="hello")

    with committed():
        error_message(as_alice.post("/api/cloned-audios/anna/delete"), 409)
        error_message(as_alice.post(f"/api/reference-audios/{reference.pk}/delete"), 409)
    assert SpeakerProfile.objects.filter(pk=profile.pk).exists() and (media_root / profile.clean_clip.name).is_file()
    assert ReferenceAudio.objects.filter(pk=reference.pk).exists()


def test_a_recording_a_render_is_driven_by_is_refused_and_kept(alice, as_alice, media_root, committed):
    reference = reference_of(alice, media_root)
    active_job(Job.Kind.RENDER, alice, audio_path=reference.file.name)

    with committed():
        error_message(as_alice.post(f"/api/reference-audios/{reference.pk}/delete"), 409)
    assert (media_root / "voices/ref_voices/anna.wav").is_file()


def test_a_chat_turn_still_being_answered_is_refused_and_kept(alice, as_alice):
    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice))
    Turn.objects.filter(pk=turn.pk).update(job=active_job(Job.Kind.CHAT, alice, Job.Status.RUNNING, turn_id=turn.pk))

    error_message(as_alice.post(f"/api/chat/turns/{turn.pk}/delete"), 409)
    assert Turn.objects.filter(pk=turn.pk).exists()


def test_a_missing_or_malformed_id_and_a_get_are_refused(as_alice):
    assert error_message(as_alice.post("/api/training-videos/999/delete"), 404) == "训练视频不存在: 999"
    error_message(as_alice.post("/api/reference-audios/abc/delete"), 404)
    error_message(as_alice.get("/api/available-models/1/delete"), 405)


def test_without_an_account_nothing_is_deleted(alice, media_root):
    from django.test import Client

    video = training_video_of(alice, media_root)
    error_message(Client().post(f"/api/training-videos/{video.pk}/delete"), 401)
    assert TrainingVideo.objects.filter(pk=video.pk).exists()


def test_single_user_mode_deletes_the_local_accounts_and_the_ownerless_rows(client, media_root, committed):
    scanned = training_video_of(None, media_root, "scanned.mp4")
    own = training_video_of(local_user(), media_root)

    with committed():
        for video in (scanned, own):
            assert client.post(f"/api/training-videos/{video.pk}/delete").status_code == 200
    assert not TrainingVideo.objects.exists()


def test_a_foreign_page_cannot_delete_through_a_signed_in_browser(alice, media_root):
    from django.test import Client

    video = training_video_of(alice, media_root)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert "CSRF" in error_message(browser.post(f"/api/training-videos/{video.pk}/delete"), 403)
    assert TrainingVideo.objects.filter(pk=video.pk).exists()


def test_a_voice_with_a_chinese_name_is_deleted_by_it(alice, as_alice, media_root):
    speaker_of(alice, media_root, reference_of(alice, media_root), speaker_id="小明")
    assert as_alice.post("/api/cloned-audios/%E5%B0%8F%E6%98%8E/delete").status_code == 200
    assert not SpeakerProfile.objects.exists()


@pytest.mark.parametrize("deleted", ["video", "speech", "turn", "version"])
def test_the_same_request_again_after_deleting_what_it_made_is_new_work(alice, as_alice, media_root, committed, monkeypatch, deleted):
    """A request repeated moments later is answered with the first one's job (monitoring.repeats): sent again
    after its render, speech or chat turn was deleted, it was answered with the deleted one (a video_path that is
    gone, a turn that is no more) instead of doing the work again."""
    from monitoring import repeats, runner

    key = repeats.request_key(model=1, text="hello")
    kind = {"video": Job.Kind.RENDER, "speech": Job.Kind.SYNTHESIZE, "turn": Job.Kind.CHAT, "version": Job.Kind.CLONE}[deleted]
    first = Job.objects.create(id="first_1", kind=kind, status=Job.Status.SUCCEEDED, owner=alice, params={repeats.REQUEST_KEY: key})
    if deleted == "video":
        write_plain_video(media_root / "videos/res_videos/out.mp4")
        url = f"/api/generated-videos/{GeneratedVideo.objects.create(file='videos/res_videos/out.mp4', job=first, owner=alice).pk}/delete"
    elif deleted == "speech":
        write_tone_wav(media_root / "voices/res_voices/speech.wav")
        url = f"/api/generated-audios/{GeneratedAudio.objects.create(file='voices/res_voices/speech.wav', job=first, owner=alice).pk}/delete"
    elif deleted == "version":
        reference = reference_of(alice, media_root)
        speaker_of(alice, media_root, reference, version=1)
        speaker_of(alice, media_root, reference, version=2)  # what the first request made
        url = "/api/cloned-audios/anna/versions/2/delete"
    else:
        turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice), status=Turn.Status.SUCCEEDED, job=first)
        url = f"/api/chat/turns/{turn.pk}/delete"
    with committed():
        assert as_alice.post(url).status_code == 200
    monkeypatch.setattr(runner, "submit", lambda job: job)
    job, repeat = repeats.start_once(kind, alice, key, lambda: Job.objects.create(id="again_1", kind=kind, owner=alice, params={}))
    assert not repeat and job.pk == "again_1"
