"""The same file uploaded again: the row it became the first time, not a second copy listed twice."""
import threading

import pytest

from accounts.tests.conftest import upload_audio, upload_video
from assets.models import ReferenceAudio, TrainingVideo

pytestmark = pytest.mark.django_db

CONTRACT = {"status", "message", "filename", "relative_path", "original_name"}


def wait_for_each_other(monkeypatch, owner, name: str) -> None:
    """`owner.name` made to wait, once done, until the other of two requests has done it too: both pass
    that point before either goes on, however the threads are scheduled."""
    both_done = threading.Barrier(2, timeout=30)
    done = getattr(owner, name)

    def done_together(*args, **kwargs):
        result = done(*args, **kwargs)
        both_done.wait()
        return result

    monkeypatch.setattr(owner, name, done_together)


def test_an_audio_uploaded_twice_is_stored_and_listed_once(client, media_root, wav_file):
    first, second = upload_audio(client, wav_file).json(), upload_audio(client, wav_file).json()
    assert CONTRACT <= set(second) and second["status"] == "success" and second["message"] == "音频上传成功"
    assert second == first
    assert ReferenceAudio.objects.count() == 1
    assert len(list((media_root / "voices/ref_voices").iterdir())) == 1
    listing = client.get("/api/reference-audios").json()
    assert listing["total_count"] == 1 and [row["original_name"] for row in listing["files"]] == ["声音 sample.wav"]


def test_a_video_uploaded_twice_is_stored_once_and_checked_once(client, media_root, plain_video):
    first, second = upload_video(client, plain_video).json(), upload_video(client, plain_video).json()
    assert CONTRACT <= set(second) and second["status"] == "success" and second["message"] == "视频上传成功"
    assert second == first  # its probe_task_id too: the check already started is the one to follow
    assert TrainingVideo.objects.count() == 1
    assert client.get("/api/training-videos").json()["total_count"] == 1


def test_the_same_file_from_two_accounts_is_each_ones_own(as_alice, as_bob, wav_file):
    alices, bobs = upload_audio(as_alice, wav_file).json(), upload_audio(as_bob, wav_file).json()
    assert alices["status"] == bobs["status"] == "success" and alices["relative_path"] != bobs["relative_path"]
    assert sorted(ReferenceAudio.objects.values_list("owner__username", flat=True)) == ["alice", "bob"]


def test_a_file_whose_consent_was_revoked_cannot_be_uploaded_again(client, media_root, wav_file, tmp_path):
    """Sent again, under its name or another, it became a new row with a new statement, usable at once: the
    curator's revocation was undone a minute later. Its listing says why it can no longer be used."""
    from django.utils import timezone

    first = upload_audio(client, wav_file).json()
    ReferenceAudio.objects.update(revoked_at=timezone.now())
    renamed = tmp_path / "another name.wav"
    renamed.write_bytes(wav_file.read_bytes())
    for sent in (wav_file, renamed):
        response = upload_audio(client, sent)
        assert response.status_code == 403 and response.json()["message"] == "此文件的授权已被工作室管理员撤销, 不能再次上传", response.content
    assert ReferenceAudio.objects.count() == 1 and len(list((media_root / "voices/ref_voices").iterdir())) == 1
    [listed] = client.get("/api/reference-audios").json()["files"]
    assert listed["relative_path"] == first["relative_path"] and listed["consent_revoked"] is True


def test_an_upload_without_consent_is_not_taken_again_for_one_that_states_it(as_alice, wav_file, plain_video):
    """A row kept from before consent statements were asked for cannot be used: sending the file again
    with a statement gave back that row, still without one, and no way to make the file usable."""
    first = upload_audio(as_alice, wav_file).json()
    ReferenceAudio.objects.update(consent_at=None, consent_wording="", consent_name="")
    second = upload_audio(as_alice, wav_file).json()
    assert second["status"] == "success" and second["id"] != first["id"]
    assert ReferenceAudio.objects.get(pk=second["id"]).has_consent
    video = upload_video(as_alice, plain_video).json()
    TrainingVideo.objects.update(consent_at=None, consent_wording="", consent_name="")
    again = upload_video(as_alice, plain_video).json()
    assert again["id"] != video["id"] and TrainingVideo.objects.get(pk=again["id"]).has_consent


def test_a_video_whose_check_failed_is_checked_again_when_sent_again(client, plain_video):
    """Sending the video again was the way to retry a check that failed (a worker out of memory): the
    row it became is taken again, but not its failed check."""
    first = upload_video(client, plain_video).json()
    TrainingVideo.objects.update(probe_status=TrainingVideo.ProbeStatus.FAILED, probe_error="out of memory")
    second = upload_video(client, plain_video).json()
    assert second["id"] == first["id"] and second["probe_task_id"] != first["probe_task_id"]
    assert TrainingVideo.objects.get().probe_status != TrainingVideo.ProbeStatus.FAILED


def test_a_file_stored_before_is_taken_again_at_the_quota(alice, settings, wav_file, tmp_path, media_root):
    """Sending again a file already stored stores nothing: at the quota it is the earlier row, not a 413;
    another file is still refused, and nothing of it is kept."""
    from accounts.tests.conftest import error_message, session_client
    from engines.testing.simple_media import write_tone_wav

    as_alice = session_client(alice)
    first = upload_audio(as_alice, wav_file).json()
    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": wav_file.stat().st_size}  # all used
    again = upload_audio(as_alice, wav_file)
    assert again.status_code == 200 and again.json() == first
    error_message(upload_audio(as_alice, write_tone_wav(tmp_path / "another.wav", seconds=1.0)), 413)
    assert ReferenceAudio.objects.count() == 1
    assert [path.name for path in (media_root / "voices/ref_voices").iterdir()] == [first["filename"]]


@pytest.mark.django_db(transaction=True)
def test_the_same_file_sent_twice_at_once_is_stored_once(alice, wav_file, media_root, monkeypatch):
    """Both requests look for an earlier upload before either stores its file (held at a barrier): the
    second to store finds the first's row, answers with it, and removes its own copy."""
    from accounts.tests.conftest import session_client
    from assets import catalog
    from echofu.tests.at_once import at_once

    wait_for_each_other(monkeypatch, catalog, "uploaded_before")
    answers = at_once([lambda: upload_audio(session_client(alice), wav_file)] * 2, timeout=60)
    assert [answer.status_code for answer in answers] == [200, 200], answers
    assert answers[0].json()["id"] == answers[1].json()["id"]
    row = ReferenceAudio.objects.get()
    assert [path.name for path in (media_root / "voices/ref_voices").iterdir()] == [row.filename]
    assert list((media_root / "tmp/uploads").iterdir()) == []


def test_single_user_mode_takes_again_a_row_from_before_accounts(settings, client, wav_file):
    """Single-user mode lists the rows nobody owns as its account's: the same file sent again is that row."""
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    first = upload_audio(client, wav_file).json()
    ReferenceAudio.objects.update(owner=None)  # as uploaded before accounts
    again = upload_audio(client, wav_file).json()
    assert again["status"] == "success" and again["id"] == first["id"] and ReferenceAudio.objects.count() == 1


def test_a_row_nobody_owns_is_not_taken_again_by_an_account(as_alice, wav_file):
    first = upload_audio(as_alice, wav_file).json()
    ReferenceAudio.objects.update(owner=None)
    again = upload_audio(as_alice, wav_file).json()
    assert again["status"] == "success" and again["id"] != first["id"]
    assert ReferenceAudio.objects.get(pk=again["id"]).owner.username == "alice"


@pytest.mark.django_db(transaction=True)
def test_two_files_sent_at_once_under_a_quota_that_fits_one_store_one(alice, settings, wav_file, tmp_path, media_root, monkeypatch):
    """Both requests pass the quota's first look before either stores its file (held at a barrier): the
    one that saves second weighs its file again with the first's counted in, and is refused with the 413."""
    import shutil

    from accounts.tests.conftest import session_client
    from assets import views
    from echofu.tests.at_once import at_once
    from limits.checks import storage_used

    other = shutil.copy(wav_file, tmp_path / "other.wav")  # another upload (another name), as large
    size = wav_file.stat().st_size
    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": size + size // 2}
    wait_for_each_other(monkeypatch, views, "quota_refusal")
    answers = at_once([lambda: upload_audio(session_client(alice), wav_file), lambda: upload_audio(session_client(alice), other)], timeout=60)
    assert sorted(answer.status_code for answer in answers) == [200, 413], answers
    refused = next(answer.json() for answer in answers if answer.status_code == 413)
    assert refused["status"] == "error" and refused["message"].startswith("存储空间不足")
    assert refused["used_bytes"] == size and refused["quota_bytes"] == size + size // 2
    row = ReferenceAudio.objects.get()
    assert storage_used(alice) == size
    assert [path.name for path in (media_root / "voices/ref_voices").iterdir()] == [row.filename]  # the refused copy removed
    assert list((media_root / "tmp/uploads").iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_the_same_video_sent_twice_at_once_is_checked_once(alice, plain_video, monkeypatch):
    """Both requests hold the one row the video became before either starts its check (a barrier): the
    second follows the first's check rather than starting another of the same bytes."""
    from accounts.tests.conftest import session_client
    from assets import catalog
    from echofu.tests.at_once import at_once
    from monitoring.models import Job

    wait_for_each_other(monkeypatch, catalog, "save_training_video")
    wait_for_each_other(monkeypatch, catalog, "uploaded_before")
    answers = at_once([lambda: upload_video(session_client(alice), plain_video)] * 2, timeout=120)
    assert [answer.status_code for answer in answers] == [200, 200], answers
    first, second = (answer.json() for answer in answers)
    assert first["id"] == second["id"] and first["probe_task_id"] == second["probe_task_id"]
    assert list(Job.objects.filter(kind=Job.Kind.PROBE).values_list("pk", flat=True)) == [first["probe_task_id"]]
    assert TrainingVideo.objects.get().probe_job_id == first["probe_task_id"]
