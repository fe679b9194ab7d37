"""Each account numbers its own voices and models: another account's "bob" takes none of its versions."""
import shutil

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.conftest import error_message, upload_audio, upload_video
from assets.models import GeneratedAudio, SpeakerProfile, TrainingVideo
from echofu.ownership import local_user
from echofu.versioning import create_next_version
from engines import media
from engines.talking_head.base import TrainResult
from engines.testing.voices import other_speaker
from monitoring import runner
from monitoring.models import Job
from training import jobs, registry
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def speech_wav(tmp_path):
    path = tmp_path / "bob.wav"
    speech = other_speaker("Please call Stella. Ask her to bring these things with her from the store.")
    media.write_wav(path, np.concatenate([np.zeros(8000), speech]), 16000)
    return path


def clone_bob(client, recording):
    reference = upload_audio(client, recording).json()["relative_path"]
    response = client.post("/audio_clone", {"original_audio_path": reference, "target_audio_id": "bob"})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_a_voice_name_taken_in_another_account_starts_at_version_one(as_alice, as_bob, alice, bob, speech_wav, media_root,
                                                                      voice_fit_reused):
    alices = clone_bob(as_alice, speech_wav)
    bobs = clone_bob(as_bob, speech_wav)
    assert (alices["status"], alices["version"], bobs["status"], bobs["version"]) == ("success", 1, "success", 1)
    alice_profile, bob_profile = SpeakerProfile.objects.get(owner=alice), SpeakerProfile.objects.get(owner=bob)
    assert alice_profile.clean_clip.name != bob_profile.clean_clip.name
    assert (media_root / alice_profile.clean_clip.name).is_file() and (media_root / bob_profile.clean_clip.name).is_file()
    listing = as_bob.get("/api/cloned-audios").json()
    assert [(entry["name"], entry["version"]) for entry in listing["audios"]] == [("bob", 1)]
    spoken = as_bob.post("/audio_clone", {"generate_text": "Hello.", "audio_id": "bob"}).json()
    assert spoken["status"] == "success" and GeneratedAudio.objects.get(job=spoken["task_id"]).speaker == bob_profile, spoken


def built_model(tmp_path, name):
    built = tmp_path / name
    built.mkdir()
    (built / "weights.safetensors").write_bytes(name.encode())
    return built


def test_a_person_trained_in_another_account_starts_at_version_one(as_alice, as_bob, alice, bob, tmp_path, media_root):
    registry.register("EchoLite", "train_1", built_model(tmp_path, "train_1"), person="anna", owner_id=alice.pk)
    registry.register("EchoLite", "train_2", built_model(tmp_path, "train_2"), person="anna", owner_id=alice.pk)
    registry.register("EchoLite", "train_3", built_model(tmp_path, "train_3"), person="anna", owner_id=bob.pk)
    assert [(model["person"], model["version"]) for model in as_bob.get("/api/available-models").json()["models"]] == [("anna", 1)]
    assert sorted(model["version"] for model in as_alice.get("/api/available-models").json()["models"]) == [1, 2]
    assert (media_root / "models/EchoLite/train_1/weights.safetensors").read_bytes() == b"train_1"


def test_single_user_mode_numbers_its_account_and_the_operators_rows_together(settings, tmp_path):
    """The local account lists the rows nobody owns (scan_media, the train command) as its own:
    one numbering, or it would list two "anna v1"."""
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    registry.register("EchoLite", "train_1", built_model(tmp_path, "train_1"), person="anna")
    local = registry.register("EchoLite", "train_2", built_model(tmp_path, "train_2"), person="anna", owner_id=local_user().pk)
    operator = registry.register("EchoLite", "train_3", built_model(tmp_path, "train_3"), person="anna")
    assert (local.version, operator.version) == (2, 3)
    assert TalkingHeadModel.objects.filter(owner__isnull=True).count() == 2


def test_names_in_requests_resolve_within_the_requesting_account(as_bob, alice, bob, media_root):
    """The legacy forms name voices (speaker_id, audio_id) and models (model_param) by name: Bob's
    request naming Alice's voice or model is refused as unknown, and no job starts."""
    for owner, name in ((alice, "alices_model"), (bob, "bobs_model")):
        (media_root / f"models/EchoLite/{name}").mkdir(parents=True)
        TalkingHeadModel.objects.create(model_type="EchoLite", name=name, person="anna", owner=owner)
    SpeakerProfile.objects.create(speaker_id="anna", reference_path="voices/ref_voices/anna.wav", owner=alice)
    bobs_model = {"model_name": "EchoLite", "model_param": "models/EchoLite/bobs_model"}
    requests = [
        ("/audio_clone", {"generate_text": "Hello.", "audio_id": "anna"}, "anna"),
        ("/video_generation", {**bobs_model, "target_text": "Hello.", "speaker_id": "anna"}, "anna"),
        ("/chat_system", {**bobs_model, "text": "Hello.", "voice_clone": "true", "speaker_id": "anna"}, "anna"),
        ("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/alices_model", "target_text": "Hello."},
         "alices_model"),
    ]
    for endpoint, form, named in requests:
        assert named in error_message(as_bob.post(endpoint, form), 400), endpoint
    assert error_message(as_bob.get("/api/model-details/EchoLite/alices_model"), 404)
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_versions_numbered_across_accounts():
    """Rows numbered before accounts had their own numbering keep their numbers (files name them in
    their provenance record); an account's next version counts on from its own highest."""
    before = [("assets", "0004_generated_audio_room_tone"), ("training", "0004_model_dir_help_text")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    alice, bob = (old.get_model("auth", "User").objects.create(username=name) for name in ("alice", "bob"))
    profiles = old.get_model("assets", "SpeakerProfile").objects
    for version, owner in ((1, alice), (2, alice), (3, bob)):
        profiles.create(speaker_id="bob", version=version, owner=owner, reference_path=f"v{version}.wav")
    models = old.get_model("training", "TalkingHeadModel").objects
    for version, owner in ((1, alice), (2, bob)):
        models.create(model_type="EchoLite", name=f"train_{version}", person="anna", version=version, owner=owner)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(SpeakerProfile.objects.order_by("version").values_list("owner__username", "version")) == [
        ("alice", 1), ("alice", 2), ("bob", 3)]
    assert list(TalkingHeadModel.objects.order_by("version").values_list("owner__username", "version")) == [("alice", 1), ("bob", 2)]
    alice_id = get_user_model().objects.get(username="alice").pk
    assert create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=alice_id, reference_path="new.wav").version == 3


def test_a_deleted_newest_version_is_not_numbered_again_in_its_account(as_alice, as_staff, alice, bob, tmp_path):
    """Deleted from the studio (a model) or in the admin (a voice), v3's number stays v3's: Alice's next is
    v4; Bob's numbering of the same names is his own."""
    for name in ("train_1", "train_2", "train_3"):
        newest = registry.register("EchoLite", name, built_model(tmp_path, name), person="anna", owner_id=alice.pk)
    assert as_alice.post(f"/api/available-models/{newest.pk}/delete").status_code == 200
    assert registry.register("EchoLite", "train_4", built_model(tmp_path, "train_4"), person="anna", owner_id=alice.pk).version == 4
    assert registry.register("EchoLite", "train_5", built_model(tmp_path, "train_5"), person="anna", owner_id=bob.pk).version == 1

    for clip in ("1.wav", "2.wav", "3.wav"):
        newest = create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=alice.pk, reference_path=clip)
    assert as_staff.post(f"/admin/assets/speakerprofile/{newest.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not SpeakerProfile.objects.filter(pk=newest.pk).exists()
    assert create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=alice.pk, reference_path="4.wav").version == 4
    assert create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=bob.pk, reference_path="5.wav").version == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_seeds_the_numbers_already_given_out_from_rows_jobs_and_provenance():
    """Versions deleted before numbers were remembered are still named by the jobs that made them and
    by provenance records: the next version counts on from the highest any of them names."""
    before = [("assets", "0011_ties_broken_by_pk"), ("training", "0008_ties_broken_by_pk"), ("monitoring", "0011_ties_broken_by_pk"),
              ("provenance", "0003_ties_broken_by_pk")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    alice, bob = (old.get_model("auth", "User").objects.create(username=name) for name in ("alice", "bob"))
    old.get_model("assets", "SpeakerProfile").objects.create(speaker_id="anna", version=1, owner=alice, reference_path="v1.wav")
    old.get_model("training", "TalkingHeadModel").objects.create(model_type="EchoLite", name="train_1", person="anna", version=1, owner=alice)
    jobs = old.get_model("monitoring", "Job").objects
    jobs.create(id="clone_1", kind="clone", status="succeeded", owner=alice, result={"speaker_id": "anna", "version": 3})
    jobs.create(id="clone_2", kind="clone", status="failed", owner=alice, result={"speaker_id": "anna", "version": 9})
    jobs.create(id="train_2", kind="train", status="succeeded", owner=alice, result={"model_label": "anna v2 (EchoLite)"})
    old.get_model("provenance", "ProvenanceRecord").objects.create(
        request_id="tts_1", kind="audio", file="voices/res_voices/a.wav", sha256="0" * 64, owner=alice, record={"voice_id": "anna v4"})

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    alice_id, bob_id = (get_user_model().objects.get(username=name).pk for name in ("alice", "bob"))
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=alice_id, reference_path="new.wav").version == 5
    assert create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, owner_id=alice_id, name="new").version == 3
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=bob_id, reference_path="bob.wav").version == 1


class TrainsAStandInModel:
    def train(self, video_path, workdir, params, progress):
        model_dir = workdir / "model"
        model_dir.mkdir()
        (model_dir / "weights.safetensors").write_bytes(b"w")
        return TrainResult(model_dir=model_dir, metrics={}, warnings=[])


def trained_person(video_id, owner, monkeypatch) -> str:
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: TrainsAStandInModel())
    job = jobs.prepare_training("EchoLite", TrainingVideo.objects.get(pk=video_id), "cpu", 1, {}, owner=owner)
    runner.execute(job.pk)
    return TalkingHeadModel.objects.get(job_id=job.pk).person


def another_video(tmp_path):
    from engines.testing.simple_media import write_plain_video

    (tmp_path / "another").mkdir(exist_ok=True)
    return write_plain_video(tmp_path / "another" / "clip.mp4", seconds=1.5)


def named_upload(upload, client, source, name):
    named = source.with_name(name)
    shutil.copyfile(source, named)
    return upload(client, named).json()


def test_two_accounts_uploading_the_same_file_name_both_know_it_by_that_name(as_alice, as_bob, alice, bob, speech_wav, plain_video,
                                                                             media_root, monkeypatch, tmp_path, voice_fit_reused):
    """The stored files differ (anna.mp4, anna_2.mp4); Bob's person and voice are "anna" all the same,
    so that nothing he reads tells him another account has an anna."""
    alices_video, bobs_video = (named_upload(upload_video, client, plain_video, "anna.mp4") for client in (as_alice, as_bob))
    assert alices_video["relative_path"] != bobs_video["relative_path"]
    assert trained_person(alices_video["id"], alice, monkeypatch) == trained_person(bobs_video["id"], bob, monkeypatch) == "anna"
    listed = as_bob.get("/api/available-models").json()["models"]
    assert [(model["person"], model["version"]) for model in listed] == [("anna", 1)]

    alices_audio, bobs_audio = (named_upload(upload_audio, client, speech_wav, "anna.wav") for client in (as_alice, as_bob))
    cloned = as_bob.post("/audio_clone", {"original_audio_path": bobs_audio["relative_path"]}).json()
    assert cloned["status"] == "success" and (cloned["speaker_id"], cloned["version"]) == ("anna", 1), cloned
    spoken = as_bob.post("/audio_clone", {"generate_text": "Hello.", "ref_audio_path": bobs_audio["relative_path"]}).json()
    assert spoken["status"] == "success", spoken
    bobs_voices = SpeakerProfile.objects.filter(owner=bob)
    assert sorted(bobs_voices.values_list("speaker_id", "version")) == [("anna", 1), ("ref_anna", 1)]
    assert {profile.reference_path for profile in bobs_voices} == {bobs_audio["relative_path"].removeprefix("media/")}

    # Within one account a second anna.mp4 (another video: the same one again is the row it became) is another person: anna_2.
    bobs_second = named_upload(upload_video, as_bob, another_video(tmp_path), "anna.mp4")
    assert trained_person(bobs_second["id"], bob, monkeypatch) == "anna_2"
    # The listings name each upload so too, whatever its stored file is called.
    assert sorted(video["name"] for video in as_bob.get("/api/training-videos").json()["files"]) == ["anna", "anna_2"]
    assert [audio["name"] for audio in as_bob.get("/api/reference-audios").json()["files"]] == ["anna"]


def test_single_user_mode_names_its_uploads_as_it_did(client, settings, plain_video, media_root, monkeypatch, tmp_path):
    """The local account and the rows nobody owns share one set of names: a scanned anna.mp4 (a row
    from before names, going by its file) makes the next upload anna_2, and the one after anna_3."""
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    shutil.copyfile(plain_video, media_root / "videos/ref_videos/anna.mp4")
    TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=1)
    uploads = [named_upload(upload_video, client, video, "anna.mp4") for video in (plain_video, another_video(tmp_path))]
    assert [upload["filename"] for upload in uploads] == ["anna_2.mp4", "anna_3.mp4"]
    assert [trained_person(upload["id"], None, monkeypatch) for upload in uploads] == ["anna_2", "anna_3"]
