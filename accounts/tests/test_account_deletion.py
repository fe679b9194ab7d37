"""Deleting an account (in the admin) deletes its data: its rows, their files, its recordings; its
jobs are cancelled. Another account's data stays whole."""
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.tests.conftest import session_client
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from chat.models import Conversation, Turn
from echofu import ownership
from generation.models import GeneratedVideo
from monitoring import runner
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

OWNED = (ReferenceAudio, TrainingVideo, SpeakerProfile, GeneratedAudio, GeneratedVideo, TalkingHeadModel, Job, Conversation)


def file(media_root, relative, content=b"data"):
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return relative


def studio_of(user, media_root) -> dict:
    """One of each kind of row the account owns, each with its file; a queued job with the inputs
    kept for it, a running one; a browser recording."""
    name = user.username
    consent = {"consent_name": name, "consent_wording": "statement", "consent_at": timezone.now()}
    reference = ReferenceAudio.objects.create(file=file(media_root, f"voices/ref_voices/{name}.wav"), owner=user, **consent)
    video = TrainingVideo.objects.create(file=file(media_root, f"videos/ref_videos/{name}.mp4"), owner=user, **consent)
    profile = SpeakerProfile.objects.create(speaker_id="bob", reference=reference, reference_path=reference.file.name, owner=user,
                                            clean_clip=file(media_root, f"voices/speakers/{name}.wav"))
    file(media_root, f"models/EchoLite/{name}_model/weights.safetensors")
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name=f"{name}_model", person="anna", owner=user)
    GeneratedAudio.objects.create(file=file(media_root, f"voices/res_voices/{name}.wav"), speaker=profile, owner=user)
    GeneratedVideo.objects.create(file=file(media_root, f"videos/res_videos/{name}.mp4"), model=model, owner=user)
    ProvenanceRecord.objects.create(request_id=f"render_{name}", kind="video", file=f"videos/res_videos/{name}.mp4", sha256="0" * 64,
                                    model=model, owner=user)
    conversation = Conversation.objects.create(owner=user)
    turn = Turn.objects.create(conversation=conversation, input_text="hi", status=Turn.Status.SUCCEEDED)
    turn.reply_audio = file(media_root, f"voices/res_voices/chat_{name}.wav")
    turn.save()
    file(media_root, f"{turn.folder}/segments/01.mp4")
    queued = runner.new_job(Job.Kind.RENDER, {}, owner=user, prefix=f"render_{name}")
    file(media_root, f"tmp/jobs/{queued.pk}/input.wav")
    running = runner.new_job(Job.Kind.TRAIN, {}, owner=user, prefix=f"train_{name}")
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING)
    file(media_root, f"tmp/jobs/{running.pk}/weights.safetensors")  # its worker's: cleared when it stops
    recording = file(media_root, f"{ownership.recordings_folder(user)}/input.wav")
    files = [reference.file.name, video.file.name, profile.clean_clip.name, f"models/EchoLite/{name}_model",
             f"voices/res_voices/{name}.wav", f"videos/res_videos/{name}.mp4", turn.reply_audio.name,
             f"chat/{conversation.pk}", f"tmp/jobs/{queued.pk}", recording]
    return {"files": files}


def test_deleting_an_account_in_the_admin_deletes_its_rows_and_files_and_keeps_the_others(
        alice, bob, staff, media_root, django_capture_on_commit_callbacks):
    alices, bobs = studio_of(alice, media_root), studio_of(bob, media_root)
    bobs_rows = {model: model.objects.filter(owner=bob).count() for model in OWNED}
    admin = session_client(staff)

    confirmation = admin.get(f"/admin/auth/user/{alice.pk}/delete/").content.decode()
    for counted in ("参考音频: 1", "训练视频: 1", "说话人特征: 1", "数字人模型: 1",
                    "生成的音频: 1", "生成的视频: 1", "任务: 2", "对话: 1", "对话轮次: 1"):
        assert f"<li>{counted}</li>" in confirmation, counted  # the page's summary of what the deletion takes
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content[:300]

    assert not get_user_model().objects.filter(username="alice").exists()
    for model in OWNED:
        assert not model.objects.filter(owner__isnull=True).exists(), f"{model.__name__} left without an owner"
        assert model.objects.filter(owner=bob).count() == bobs_rows[model], model.__name__
    assert Turn.objects.count() == 1
    for relative in alices["files"]:
        assert not (media_root / relative).exists(), relative
    for relative in bobs["files"]:
        assert (media_root / relative).exists(), relative
    kept = ProvenanceRecord.objects.get(request_id="render_alice")  # verify_media still knows the file was made here
    assert kept.owner is None and kept.model is None
    assert session_client(bob).get("/api/cloned-audios").json()["total_count"] == 1


def test_a_training_running_when_its_account_is_deleted_stops_as_cancelled_and_publishes_nothing(
        alice, media_root, monkeypatch, django_capture_on_commit_callbacks):
    def train(job, ctx):
        (ctx.workdir / "weights.safetensors").write_bytes(b"w")
        with django_capture_on_commit_callbacks(execute=True):
            get_user_model().objects.filter(pk=alice.pk).delete()  # the admin, meanwhile
        ctx.progress("train", 0.5)
        return {"model_path": "published"}

    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, train)
    job = runner.new_job(Job.Kind.TRAIN, {}, owner=alice, prefix="train")
    assert runner.execute(job.pk) == Job.Status.CANCELLED
    assert not Job.objects.exists() and not TalkingHeadModel.objects.exists()
    assert not (media_root / f"tmp/jobs/{job.pk}").exists()


def test_the_deletion_page_names_issued_versions_and_counted_requests_in_the_admins_language(alice, staff):
    """They read "assets.SpeakerProfile {"speaker_id": "anna"} v2" and "alice rendering 2026-12-07 10:21:09" (the time
    in UTC, where every other time of the admin is the studio's) inside the Chinese admin."""
    from datetime import datetime, timezone as dt_timezone
    from html import unescape

    from assets.models import IssuedVersion
    from echofu.versioning import scope_key
    from limits.models import Hit

    IssuedVersion.objects.create(owner=alice, numbered="assets.SpeakerProfile", scope=scope_key({"speaker_id": "anna"}), highest=2)
    IssuedVersion.objects.create(owner=alice, numbered="training.TalkingHeadModel", highest=1,
                                 scope=scope_key({"person": "安娜", "model_type": "EchoLite"}))
    Hit.objects.create(user=alice, scope="rendering", at=datetime(2026, 12, 7, 10, 21, 9, tzinfo=dt_timezone.utc))
    admin = session_client(staff)
    admin.cookies["django_language"] = "zh-hans"
    page = unescape(admin.get(f"/admin/auth/user/{alice.pk}/delete/").content.decode())
    for shown in ("说话人特征 anna v2", "数字人模型 EchoLite 安娜 v1", "alice 视频渲染 2026-12-07 18:21:09"):  # Asia/Shanghai
        assert shown in page, shown
    assert "assets.SpeakerProfile" not in page and "rendering" not in page
    listing = admin.get("/admin/limits/hit/").content.decode()
    assert "视频渲染" in listing and "媒体校验" in listing and ">rendering<" not in listing  # the column and the filter
    assert admin.get("/admin/limits/hit/?scope=rendering").status_code == 200
    assert admin.get(f"/admin/limits/hit/{Hit.objects.get().pk}/change/").status_code == 200


def test_an_accounts_page_says_its_storage_and_the_requests_the_rate_limits_counted(alice, staff, media_root, settings):
    """A curator asked why an account gets 413 or 429 had nowhere in the admin to look."""
    from datetime import timedelta
    from html import unescape

    from limits.models import Hit

    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": 10 * 1024 * 1024, "RATE_LIMIT_REQUESTS": 30, "RATE_LIMIT_SECONDS": 3600}
    ReferenceAudio.objects.create(file=file(media_root, "voices/ref_voices/a.wav", b"x" * 2 * 1024 * 1024), size=2 * 1024 * 1024, owner=alice)
    for minutes_ago in (1, 2, 90):  # the last is outside the window
        Hit.objects.create(user=alice, scope="rendering", at=timezone.now() - timedelta(minutes=minutes_ago))
    admin = session_client(staff)
    admin.cookies["django_language"] = "zh-hans"
    page = unescape(admin.get(f"/admin/auth/user/{alice.pk}/change/").content.decode())
    assert "2.0 MB / 10.0 MB (ECHOFU_QUOTA_MB)" in page
    assert "视频渲染: 2 / 30" in page and "训练: 0 / 30" in page and "最近 3600 秒" in page
    page = unescape(admin.get(f"/admin/auth/user/{staff.pk}/change/").content.decode())
    assert "工作人员没有存储配额" in page and "不受频率限制" in page
    assert admin.get("/admin/auth/user/add/").status_code == 200
