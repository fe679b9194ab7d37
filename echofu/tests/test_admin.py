"""Every catalog model a curator touches has an admin list and change page that render."""
import html

import pytest
from django.contrib import admin

from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu.versioning import create_next_version
from engines.testing.simple_media import write_tone_wav
from generation.models import GeneratedVideo
from limits.models import Hit
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

CURATED = [ReferenceAudio, TrainingVideo, SpeakerProfile, GeneratedAudio, TalkingHeadModel, GeneratedVideo, Job, ProvenanceRecord, Hit]


def test_every_catalog_model_is_registered():
    assert all(admin.site.is_registered(model) for model in CURATED)


def test_list_and_change_pages_render(admin_client, media_root):
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=100)
    speaker = SpeakerProfile.objects.create(speaker_id="anna", reference_path=audio.file.name, clean_clip=audio.file.name,
                                            features={}, f0_mean=200.0)
    job = Job.objects.create(id="train_20250101_000000", kind="train", params={})
    rows = {ReferenceAudio: audio, SpeakerProfile: speaker, Job: job}
    for model in CURATED:
        meta = model._meta
        listing = admin_client.get(f"/admin/{meta.app_label}/{meta.model_name}/?q=a")
        assert listing.status_code == 200, meta.model_name
        if model in rows:
            page = admin_client.get(f"/admin/{meta.app_label}/{meta.model_name}/{rows[model].pk}/change/")
            assert page.status_code == 200, meta.model_name
            # The stored file is shown as its servable path; a job by its id.
            shown = b"train_20250101_000000" if model is Job else b"media/voices/ref_voices/a.wav"
            assert shown in page.content, meta.model_name


@pytest.mark.parametrize("language, header, likeness", [
    ("en", "Likeness to the recording", "resemblyzer 0.72 (base voice 0.59); voicefilter 0.74 (base voice 0.40)"),
    ("zh-hans", "与录音的相似度", "resemblyzer 0.72 (基础声音 0.59); voicefilter 0.74 (基础声音 0.40)"),
])
def test_a_voices_self_evaluation_is_listed_beside_its_base_voices(admin_client, media_root, language, header, likeness):
    similarity = {"resemblyzer": {"clone": 0.716, "base": 0.59}, "voicefilter": {"clone": 0.738, "base": 0.402}}
    anna = SpeakerProfile.objects.create(speaker_id="anna", reference_path="voices/ref_voices/a.wav", features={},
                                         self_evaluation={"version": 1, "languages": {}, "similarity": similarity,
                                                          "closer": {"resemblyzer": True, "voicefilter": True}})
    SpeakerProfile.objects.create(speaker_id="bob", reference_path="voices/ref_voices/b.wav", features={})  # cloned before it
    admin_client.cookies["django_language"] = language
    listing = admin_client.get("/admin/assets/speakerprofile/").content.decode()
    assert header in listing and likeness in listing
    assert listing.count('<td class="field-likeness">-</td>') == 1
    page = html.unescape(admin_client.get(f"/admin/assets/speakerprofile/{anna.pk}/change/").content.decode())
    assert 'name="self_evaluation"' not in page and '"resemblyzer": {\n' in page, "read-only, one key a line"


@pytest.mark.parametrize("language, help_text", [
    ("en", "directory name under media/models/MODEL_TYPE/ (e.g. media/models/EchoLite/)"),
    ("zh-hans", "media/models/MODEL_TYPE/ 下的目录名 (例如 media/models/EchoLite/)"),
])
def test_help_texts_show_as_written(admin_client, media_root, language, help_text):
    # Help texts are HTML in the admin: a placeholder in angle brackets would vanish as a tag.
    from django.utils.html import strip_tags

    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1")
    admin_client.cookies["django_language"] = language
    page = admin_client.get(f"/admin/training/talkingheadmodel/{model.pk}/change/")
    assert page.status_code == 200
    assert help_text in strip_tags(page.content.decode())


def test_files_and_model_folders_are_not_swapped_or_renamed_in_the_admin(admin_client, admin_user, media_root, rf):
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=100)
    page = admin_client.get(f"/admin/assets/referenceaudio/{audio.pk}/change/").content
    assert b'type="file"' not in page and b'name="size"' not in page
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1")
    page = admin_client.get(f"/admin/training/talkingheadmodel/{model.pk}/change/").content
    assert b'name="name"' not in page and b'name="model_type"' not in page
    request = rf.get("/admin/")
    request.user = admin_user
    for curated in (ReferenceAudio, TrainingVideo, GeneratedAudio, GeneratedVideo, SpeakerProfile, TalkingHeadModel):
        assert not admin.site._registry[curated].has_add_permission(request), curated


def test_a_row_moved_onto_a_taken_version_takes_the_next_number_there(admin_client, media_root):
    """Moved to a voice or person that has its version, a row used to be a server error (the database's
    unique constraint) and then a refusal; it now becomes that voice's or person's next version."""
    anna = SpeakerProfile.objects.create(speaker_id="anna", reference_path="x.wav", clean_clip="voices/speakers/anna.wav")
    SpeakerProfile.objects.create(speaker_id="bob", reference_path="x.wav", clean_clip="voices/speakers/bob.wav")
    moved = admin_client.post(f"/admin/assets/speakerprofile/{anna.pk}/change/", {"speaker_id": "bob", "duration": "", "owner": ""})
    assert moved.status_code == 302
    assert sorted(SpeakerProfile.objects.values_list("speaker_id", "version")) == [("bob", 1), ("bob", 2)]

    for name in ("m1", "m2"):
        (media_root / "models/EchoLite" / name).mkdir(parents=True)
    first = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", person="p", version=1)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="m2", person="q", version=1)
    form = {"person": "q", "source": "trained", "job": "", "owner": "", "source_video": ""}
    assert admin_client.post(f"/admin/training/talkingheadmodel/{first.pk}/change/", form).status_code == 302
    assert sorted(TalkingHeadModel.objects.values_list("name", "person", "version")) == [("m1", "q", 2), ("m2", "q", 1)]
    # Saved again unmoved, it keeps its number.
    assert admin_client.post(f"/admin/training/talkingheadmodel/{first.pk}/change/", form).status_code == 302
    assert TalkingHeadModel.objects.get(name="m1").version == 2


def test_a_curator_cannot_renumber_a_version_and_a_moved_row_takes_the_next_number_there(admin_client, media_root):
    """Renumbered in the admin, anna v3 would be a v5 that downloads and provenance records know as another
    model, and the record of numbers given out would not know it: the next training would be v5 again."""
    (media_root / "models/EchoLite/m3").mkdir(parents=True)
    model = create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="m3")
    url = f"/admin/training/talkingheadmodel/{model.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and b'name="version"' not in page.content and b'name="person"' in page.content
    form = {"person": "bea", "version": "5", "source": "trained", "job": "", "owner": "", "source_video": ""}
    assert admin_client.post(url, form).status_code == 302
    model.refresh_from_db()
    assert (model.person, model.version) == ("bea", 1)  # moved to bea: bea's first, whatever was posted
    model.delete()
    # bea's v1 was given out (to the row moved there), so bea's next model is v2, not a second v1
    assert create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "bea"}, name="m4").version == 2
    # Nor is the next row moved there a second v1 (nor a second v2).
    (media_root / "models/EchoLite/m5").mkdir(parents=True)
    other = create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="m5")
    assert other.version == 2
    assert admin_client.post(f"/admin/training/talkingheadmodel/{other.pk}/change/", {**form, "person": "bea"}).status_code == 302
    other.refresh_from_db()
    assert (other.person, other.version) == ("bea", 3)

    voice = create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="x.wav", clean_clip="voices/speakers/anna.wav")
    voice_url = f"/admin/assets/speakerprofile/{voice.pk}/change/"
    assert b'name="version"' not in admin_client.get(voice_url).content
    assert admin_client.post(voice_url, {"speaker_id": "cleo", "version": "7", "duration": "", "owner": ""}).status_code == 302
    voice.refresh_from_db()
    assert (voice.speaker_id, voice.version) == ("cleo", 1)
    voice.delete()
    assert create_next_version(SpeakerProfile, {"speaker_id": "cleo"}, reference_path="x.wav", clean_clip="voices/speakers/c.wav").version == 2


def test_a_row_moved_while_a_training_numbers_the_same_person_takes_the_number_after_it(admin_client, media_root, monkeypatch):
    """The form picks the moved row's number before the save takes the write lock: a model trained for
    bea in between took that number, and the save was a server error from the unique constraint."""
    from echofu.admin_helpers import MovedRowRenumberedForm

    for name in ("m1", "m2"):
        (media_root / "models/EchoLite" / name).mkdir(parents=True)
    model = create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="m1")
    checked = MovedRowRenumberedForm.validate_unique

    def checked_then_trained(form):
        checked(form)
        create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "bea"}, name="m2")

    monkeypatch.setattr(MovedRowRenumberedForm, "validate_unique", checked_then_trained)
    form = {"person": "bea", "source": "trained", "job": "", "owner": "", "source_video": ""}
    assert admin_client.post(f"/admin/training/talkingheadmodel/{model.pk}/change/", form).status_code == 302
    assert sorted(TalkingHeadModel.objects.values_list("name", "person", "version")) == [("m1", "bea", 2), ("m2", "bea", 1)]


def test_a_move_whose_save_meets_a_number_taken_meanwhile_is_numbered_again(admin_client, media_root, monkeypatch):
    """On PostgreSQL the save's own numbering does not wait for a training committing in that moment: the
    save met the unique constraint (a server error). Here that read is made stale: it misses bea's v1."""
    from echofu import admin_helpers

    for name in ("m1", "m2"):
        (media_root / "models/EchoLite" / name).mkdir(parents=True)
    model = create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="m1")
    create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "bea"}, name="m2")
    numbering = admin_helpers.renumber_if_moved
    calls = []

    def stale_in_the_save(row):
        numbering(row)
        calls.append(row.version)
        if len(calls) == 2:  # the form's check, then the save's first try
            row.version = 1

    monkeypatch.setattr(admin_helpers, "renumber_if_moved", stale_in_the_save)
    form = {"person": "bea", "source": "trained", "job": "", "owner": "", "source_video": ""}
    assert admin_client.post(f"/admin/training/talkingheadmodel/{model.pk}/change/", form).status_code == 302
    assert len(calls) == 3
    assert sorted(TalkingHeadModel.objects.values_list("name", "person", "version")) == [("m1", "bea", 2), ("m2", "bea", 1)]


def test_the_admin_login_says_how_to_make_an_account(client):
    """Single-user mode has no account that can sign in: the studio's admin links led to a login nobody could pass."""
    page = client.get("/admin/login/?next=/admin/").content.decode()
    assert 'name="username"' in page and "manage.py createsuperuser" in page


def test_a_curator_finds_each_accounts_rows_by_its_user_name(admin_client, django_user_model):
    """Jobs, renders, syntheses, conversations, turns and provenance records show their owner and are
    found by searching the account's name, as uploads, voices and models are."""
    from chat.models import Conversation, Turn

    alice = django_user_model.objects.create_user("alice", password="alice-password")
    conversation = Conversation.objects.create(owner=alice)
    rows = [
        Job.objects.create(id="render_20250101_000000", kind="render", params={}, owner=alice),
        GeneratedVideo.objects.create(file="videos/res_videos/v.mp4", size=1, owner=alice),
        GeneratedAudio.objects.create(file="voices/res_voices/a.wav", size=1, owner=alice),
        conversation,
        Turn.objects.create(conversation=conversation),
        ProvenanceRecord.objects.create(file="videos/res_videos/v.mp4", kind="video", owner=alice),
    ]
    for row in rows:
        meta = row._meta
        listing = admin_client.get(f"/admin/{meta.app_label}/{meta.model_name}/?q=alice")
        assert listing.status_code == 200 and listing.context["cl"].result_count == 1, meta.model_name
        assert b"column-owner" in listing.content, meta.model_name


@pytest.mark.parametrize("language, shown, hidden", [
    ("zh-hans", ["同意声明", "撤销同意 (停用其模型、声音和之后的渲染)", "文件存在", "质量", "缺失", "进度", "取消所选任务"], ["Revoke consent", ">quality<", ">progress<"]),
    ("en", ["Consent", "Revoke consent (disables its models, voices and future renders)", "File present", "Quality", "missing",
            "Progress", "Cancel selected jobs"], ["撤销同意"]),
])
def test_the_admins_own_columns_actions_and_values_are_in_the_admins_language(admin_client, media_root, language, shown, hidden):
    """The columns, actions and values written for this admin read in English inside Django's Chinese admin."""
    write_tone_wav(media_root / "videos/ref_videos/a.mp4", seconds=1.0)
    TrainingVideo.objects.create(file="videos/ref_videos/a.mp4", original_name="a.mp4", size=100)
    Job.objects.create(id="train_20250101_000000", kind="train", params={})
    admin_client.cookies["django_language"] = language
    pages = admin_client.get("/admin/assets/trainingvideo/").content.decode() + admin_client.get("/admin/monitoring/job/").content.decode()
    assert [text for text in shown if text not in pages] == []
    assert [text for text in hidden if text in pages] == []


@pytest.mark.parametrize("language, reason", [("zh-hans", "由 admin 在管理后台撤销"), ("en", "revoked in the admin by admin")])
def test_a_revocation_reason_reads_in_the_admins_language(admin_client, media_root, language, reason):
    """The reason the revoke action writes was stored as English text, which the Chinese admin showed as it was."""
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=100)
    admin_client.cookies["django_language"] = "zh-hans"  # revoked by a curator reading Chinese, read in either language
    assert admin_client.post("/admin/assets/referenceaudio/", {"action": "revoke_consent", "_selected_action": [audio.pk]}).status_code == 302
    audio.refresh_from_db()
    assert audio.revoked and audio.revoked_reason == "revoked in the admin by admin"
    admin_client.cookies["django_language"] = language
    page = admin_client.get(f"/admin/assets/referenceaudio/{audio.pk}/change/").content.decode()
    assert reason in page and 'name="revoked_reason' not in page  # shown, not editable apart from its template


@pytest.mark.parametrize("language, shown", [("zh-hans", ["无法读取为音频或视频 (x)", "失败"]), ("en", ["not readable as audio or video (x)", "failed"])])
def test_a_failed_video_checks_reason_and_state_read_in_the_admins_language(admin_client, media_root, language, shown):
    from engines.messages import gettext_noop

    reason = gettext_noop("not readable as audio or video ({reason})", reason="x")
    video = TrainingVideo.objects.create(file="videos/ref_videos/a.mp4", original_name="a.mp4", size=100, probe_status="failed",
                                         probe_error=reason, probe_error_message=reason.as_dict())
    admin_client.cookies["django_language"] = language
    listing = admin_client.get("/admin/assets/trainingvideo/").content.decode()
    assert f'<td class="field-quality">{shown[1]}</td>' in listing
    page = admin_client.get(f"/admin/assets/trainingvideo/{video.pk}/change/").content.decode()
    assert shown[0] in page and 'name="probe_error' not in page


OUR_APPS = {"accounts", "assets", "chat", "generation", "limits", "monitoring", "provenance", "training"}
# Read the same in both languages.
SAME_IN_BOTH = {"ID", "SHA-256", "EchoLite", "ER-NeRF", "SyncTalk", "中文", "English"}


def test_every_name_a_curator_reads_has_its_chinese():
    """Every model field, model, app and choice of the studio's own models is a translatable name with
    its Chinese in the catalog: the Chinese admin showed "Original name", "Consent method", "Queued"..."""
    from django.apps import apps
    from django.utils import translation

    def both(text) -> tuple[str, str]:
        with translation.override("en"):
            english = str(text)
        with translation.override("zh-hans"):
            return english, str(text)

    untranslated = []
    for config in (apps.get_app_config(name) for name in OUR_APPS):
        names = [config.verbose_name]
        for model in config.get_models():
            names += [model._meta.verbose_name, model._meta.verbose_name_plural]
            for field in model._meta.get_fields(include_hidden=False):
                if field.concrete:
                    names += [field.verbose_name, field.help_text, *(label for _, label in field.flatchoices)]
        untranslated += [english for english, chinese in map(both, names) if english and english == chinese and english not in SAME_IN_BOTH]
    assert sorted(set(untranslated)) == []


@pytest.mark.parametrize("language, shown, hidden", [
    ("zh-hans", ["原文件名", "同意方式", "时长", "所有者", "创建时间", "参考音频"], ["Original name", "Consent method", "Created at"]),
    ("en", ["Original name", "Consent method", "Duration", "Owner", "Created at", "reference audio"], ["原文件名", "同意方式"]),
])
def test_column_headers_and_field_labels_follow_the_admins_language(admin_client, media_root, language, shown, hidden):
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=100)
    Job.objects.create(id="train_20250101_000000", kind="train", params={})
    admin_client.cookies["django_language"] = language
    pages = "".join(admin_client.get(url).content.decode() for url in (
        f"/admin/assets/referenceaudio/{audio.pk}/change/", "/admin/assets/referenceaudio/", "/admin/monitoring/job/"))
    assert [text for text in shown if text not in pages] == []
    assert [text for text in hidden if text in pages] == []
    job_list = admin_client.get("/admin/monitoring/job/").content.decode()
    assert ("训练数字人模型" in job_list and "排队中" in job_list) if language == "zh-hans" else ("train talking-head model" in job_list)


@pytest.mark.parametrize("language, shown, hidden", [
    ("zh-hans", ["超时: 已达到队列的时间上限", "已完成", "[12:00:00] 读取视频 anna"], ["timed out:", ">done<", "probing anna"]),
    ("en", ["timed out: the queue time limit was reached", ">done<", "[12:00:00] probing anna"], ["超时", "读取视频"]),
])
def test_a_jobs_stage_error_and_log_read_in_the_admins_language(admin_client, language, shown, hidden):
    """The job page showed the English `error` and `log` (and the stage's code) to a Chinese curator,
    though the row keeps their templates, which /api/tasks translates."""
    from monitoring.models import log_fields
    from monitoring.runner import describe_interruption, failed_with
    from django_q.exceptions import TimeoutException
    from engines.messages import gettext_noop

    failure = failed_with(describe_interruption(TimeoutException(), "cpu"))
    Job.objects.create(id="late", kind="train", queue="cpu", status="failed", **{**failure, "stage": "done"},
                       **log_fields([["12:00:00", gettext_noop("probing {video}", video="anna").as_dict()]]))
    admin_client.cookies["django_language"] = language
    pages = admin_client.get("/admin/monitoring/job/late/change/").content.decode() + admin_client.get("/admin/monitoring/job/").content.decode()
    assert [text for text in shown if text not in pages] == []
    assert [text for text in hidden if text in pages] == []


@pytest.mark.parametrize("language, error", [("en", "LLM unavailable: connection refused"), ("zh-hans", "大模型不可用: connection refused")])
def test_a_chat_turns_error_reads_in_the_admins_language(admin_client, language, error):
    """A turn keeps its error in Chinese (the contract's message) and as its template; the English admin showed the Chinese."""
    from chat.models import Conversation, Turn
    from engines.messages import gettext_noop

    failure = gettext_noop("LLM unavailable: {reason}", reason="connection refused")
    conversation = Conversation.objects.create()
    turn = Turn.objects.create(conversation=conversation, status="failed", error_stage="llm", error="大模型不可用: connection refused",
                               error_message=failure.as_dict())
    admin_client.cookies["django_language"] = language
    for url in (f"/admin/chat/turn/{turn.pk}/change/", f"/admin/chat/conversation/{conversation.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200 and error in page.content.decode(), url


@pytest.mark.parametrize("language, names", [
    ("zh-hans", ["对话 1", "对话轮次 1 (失败)", "train_1 (训练数字人模型, 排队中)", "视频 videos/res_videos/v.mp4 (render_1)"]),
    ("en", ["conversation 1", "turn 1 (failed)", "train_1 (train talking-head model, queued)", "video videos/res_videos/v.mp4 (render_1)"]),
])
def test_rows_are_named_in_the_admins_language(admin_client, language, names):
    """A turn, an untitled conversation, a job and a provenance record were named in English on Chinese
    pages (titles, breadcrumbs, links)."""
    from chat.models import Conversation, Turn

    conversation = Conversation.objects.create(pk=1)
    Turn.objects.create(pk=1, conversation=conversation, status="failed")
    Job.objects.create(id="train_1", kind="train", params={})
    record = ProvenanceRecord.objects.create(file="videos/res_videos/v.mp4", kind="video", request_id="render_1")
    admin_client.cookies["django_language"] = language
    pages = "".join(admin_client.get(url).content.decode() for url in (
        "/admin/chat/turn/1/change/", "/admin/monitoring/job/train_1/delete/", f"/admin/provenance/provenancerecord/{record.pk}/change/"))
    assert [name for name in names if name not in pages] == []


def test_a_files_size_is_shown_once(admin_client, media_root):
    """The change page had two rows labelled "size" (大小): the byte count and the same size readable."""
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=32000)
    page = admin_client.get(f"/admin/assets/referenceaudio/{audio.pk}/change/").content.decode()
    assert page.count("大小:</label>") == 1 and "31.2 KB" in page and 'name="size"' not in page
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", size=22887498)
    page = admin_client.get(f"/admin/training/talkingheadmodel/{model.pk}/change/").content.decode()
    assert page.count("大小:</label>") == 1 and "21.8 MB" in page and "22887498" not in page  # a model's too


@pytest.mark.parametrize("model", [Job, ProvenanceRecord, Hit, "chat.Turn"])
def test_rows_made_by_the_studio_are_not_added_by_hand(admin_client, model):
    """Every field of these is read-only in the admin, so "add" saved a blank row (a provenance record
    of no file) or failed with a server error (a job without an id, a hit without a user, a turn
    without a conversation)."""
    from django.apps import apps

    model = apps.get_model(model) if isinstance(model, str) else model
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {}).status_code == 403
    assert model.objects.count() == 0
    assert f'href="{url}"' not in admin_client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/").content.decode()


def test_a_curator_edits_names_and_owners_but_not_what_a_row_was_made_from_or_measured(admin_client, media_root, django_user_model):
    """A model's source video set to none (or to another account's video) here escaped its video's revocation and
    deletion; a video's failed check set to ok here let /model_training take it. Only names and owners are edited."""
    import re

    from assets import consent

    alice = django_user_model.objects.create_user("alice")
    write_tone_wav(media_root / "voices/ref_voices/a.wav", seconds=1.0)
    audio = ReferenceAudio.objects.create(file="voices/ref_voices/a.wav", original_name="a.wav", size=100, owner=alice)
    video = TrainingVideo.objects.create(file="videos/ref_videos/v.mp4", original_name="v.mp4", size=100, owner=alice,
                                         probe_status=TrainingVideo.ProbeStatus.FAILED)
    speaker = SpeakerProfile.objects.create(speaker_id="anna", reference=audio, reference_path=audio.file.name,
                                            clean_clip=audio.file.name, features={}, f0_mean=200.0, owner=alice)
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", person="v", source_video=video, owner=alice)
    speech = GeneratedAudio.objects.create(file="voices/res_voices/s.wav", size=100, speaker=speaker, text="hi", owner=alice)
    render = GeneratedVideo.objects.create(file="videos/res_videos/r.mp4", size=100, model=model, model_type="EchoLite",
                                           text="hi", owner=alice)
    editable = {ReferenceAudio: (audio, {"owner", "original_name", "name"}), TrainingVideo: (video, {"owner", "original_name", "name"}),
                SpeakerProfile: (speaker, {"owner", "speaker_id"}), TalkingHeadModel: (model, {"owner", "person"}),
                GeneratedAudio: (speech, {"owner", "original_name"}), GeneratedVideo: (render, {"owner", "original_name"})}
    for curated, (row, fields) in editable.items():
        page = admin_client.get(f"/admin/{curated._meta.app_label}/{curated._meta.model_name}/{row.pk}/change/").content.decode()
        form = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([a-z_]+)"', page)) - {"csrfmiddlewaretoken", "_save", "_continue", "_addanother"}
        assert form == fields, curated

    answer = admin_client.post(f"/admin/training/talkingheadmodel/{model.pk}/change/",
                               {"person": "Vera", "owner": alice.pk, "source_video": "", "source": "scanned", "job": ""})
    assert answer.status_code == 302
    model.refresh_from_db()
    assert (model.person, model.source_video, model.source) == ("Vera", video, TalkingHeadModel.Source.TRAINED)
    admin_client.post(f"/admin/assets/trainingvideo/{video.pk}/change/", {"owner": alice.pk, "original_name": "v.mp4", "name": "v",
                                                                          "probe_status": "ok", "width": "4096"})
    video.refresh_from_db()
    assert video.probe_status == TrainingVideo.ProbeStatus.FAILED and video.width == 0
    consent.revoke(TrainingVideo.objects.filter(pk=video.pk))
    assert not consent.usable_models(TalkingHeadModel.objects.all()).exists()


def test_json_fields_read_in_the_admins_language_one_key_a_line(admin_client, media_root):
    """A job's params and a model's metrics showed their stored JSON on one line, the messages kept in them as English
    templates ({"template": "warning: {requested} requested but CUDA ...", "params": ...}) inside the Chinese admin."""
    from html import unescape

    from django.utils.html import strip_tags

    from echofu.messages import stored
    from engines.messages import gettext_noop

    warning = stored(gettext_noop("warning: {requested} requested but CUDA is not available for it here ({count} GPU(s)), running on CPU",
                                  requested="cuda:0", count=0))
    job = Job.objects.create(id="render_20250101_000000", kind="render", params={"text": "你好", "device_warning": warning})
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", metrics={"mouth_ssim": 0.73}, warnings=[warning])
    admin_client.cookies["django_language"] = "zh-hans"
    for url in (f"/admin/monitoring/job/{job.pk}/change/", f"/admin/training/talkingheadmodel/{model.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        text = unescape(strip_tags(page.content.decode()))
        assert "警告: 请求了 cuda:0, 但此处无法使用 CUDA (0 个 GPU), 改用 CPU 运行" in text and "template" not in text, url
    assert '"text": "你好",\n' in unescape(admin_client.get(f"/admin/monitoring/job/{job.pk}/change/").content.decode())
    page = unescape(admin_client.get(f"/admin/training/talkingheadmodel/{model.pk}/change/").content.decode())
    assert 'name="metrics"' not in page and 'name="warnings"' not in page and '"mouth_ssim": 0.73' in page


def test_a_row_moved_to_another_account_warns_that_it_still_rests_on_the_old_owners_upload(admin_client, media_root, django_user_model):
    """Moved to bob, alice's model was deleted without a word when alice deleted her video (or her account was deleted)."""
    alice, bob = django_user_model.objects.create_user("alice"), django_user_model.objects.create_user("bob")
    video = TrainingVideo.objects.create(file="videos/ref_videos/v.mp4", original_name="v.mp4", size=100, owner=alice)
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", person="vera", source_video=video, owner=alice)
    admin_client.cookies["django_language"] = "zh-hans"
    moved = admin_client.post(f"/admin/training/talkingheadmodel/{model.pk}/change/", {"person": "vera", "owner": bob.pk}, follow=True)
    said = [str(message) for message in moved.context["messages"]]
    assert any("依赖 alice 的 v.mp4" in message and "删除该上传或该账号, 也会删除" in message for message in said), said
    renamed = admin_client.post(f"/admin/training/talkingheadmodel/{model.pk}/change/", {"person": "Vera", "owner": alice.pk}, follow=True)
    assert not any("依赖" in str(message) for message in renamed.context["messages"])  # back with its video's owner: nothing to say
