"""`manage.py assign_ownerless USER`: the rows nobody owns (from before accounts) handed to one account
in multi-user mode, where until then only staff see them."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.conftest import session_client
from assets.models import SpeakerProfile, TrainingVideo
from chat.models import Conversation
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(multi_user, django_user_model):
    return django_user_model.objects.create_user(username="carol", password="carol-password")


@pytest.fixture
def rows(carol, alice):
    """carol already has a video 'anna' and a voice 'bob' v1; the ownerless rows have the same."""
    own_video = TrainingVideo.objects.create(file="videos/ref_videos/anna_2.mp4", name="anna", owner=carol)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="m0", person="anna", version=1, source_video=own_video, owner=carol)
    SpeakerProfile.objects.create(speaker_id="bob", version=1, reference_path="audios/bob.wav", owner=carol)
    old_video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4")  # from before names: goes by its file's
    return {
        "video": old_video,
        "model": TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", person="anna", version=1, source_video=old_video),
        "voice": SpeakerProfile.objects.create(speaker_id="bob", version=1, reference_path="audios/old_bob.wav"),
        "other voice": SpeakerProfile.objects.create(speaker_id="eve", version=1, reference_path="audios/eve.wav"),
        "conversation": Conversation.objects.create(title="before accounts"),
        "finished job": Job.objects.create(id="render_old", kind=Job.Kind.RENDER, status=Job.Status.SUCCEEDED, finished_at=timezone.now()),
        "running job": Job.objects.create(id="train_by_command", kind=Job.Kind.TRAIN, status=Job.Status.RUNNING),
        "alices": SpeakerProfile.objects.create(speaker_id="alice", version=1, reference_path="audios/alice.wav", owner=alice),
    }


def run(*args) -> str:
    out = StringIO()
    call_command("assign_ownerless", *args, stdout=out)
    return out.getvalue()


def fresh(row):
    return type(row).objects.get(pk=row.pk)


def test_a_dry_run_lists_every_row_and_what_it_would_become_and_changes_nothing(carol, rows):
    out = run("carol", "--dry-run")
    assert "training video 'anna' as 'anna_2' ('anna' is taken in carol's account)" in out
    assert "talking-head model 'anna v1 (EchoLite)' as 'anna_2 v1 (EchoLite)'" in out
    assert "speaker profile 'bob v1' as 'bob v2'" in out
    assert "speaker profile 'eve v1'\n" in out and "conversation 'before accounts'" in out and "job 'render_old " in out
    assert "job 'train_by_command (train talking-head model, running)' left ownerless" in out
    assert "6 ownerless row(s) would be given to carol (dry run: nothing changed)" in out
    for name in ("video", "model", "voice", "other voice", "conversation", "finished job"):
        row = fresh(rows[name])
        assert row.owner_id is None, name
    assert (fresh(rows["video"]).name, fresh(rows["voice"]).version, fresh(rows["model"]).person) == ("", 1, "anna")


def test_the_rows_are_given_to_the_account_which_lists_them_with_its_own_numbering(carol, alice, rows):
    def voices_carol_lists():  # each voice's latest version
        return sorted((entry["name"], entry["version"]) for entry in session_client(carol).get("/api/cloned-audios").json()["audios"])

    assert voices_carol_lists() == [("bob", 1)]
    out = run("carol")
    assert "6 ownerless row(s) given to carol" in out
    for name in ("video", "model", "voice", "other voice", "conversation", "finished job"):
        assert fresh(rows[name]).owner == carol, name
    assert fresh(rows["video"]).name == "anna_2" and fresh(rows["video"]).file.name == "videos/ref_videos/anna.mp4"
    assert (fresh(rows["model"]).person, fresh(rows["model"]).version) == ("anna_2", 1)
    assert (fresh(rows["voice"]).version, fresh(rows["other voice"]).version) == (2, 1)
    assert fresh(rows["running job"]).owner_id is None and fresh(rows["alices"]).owner == alice
    assert voices_carol_lists() == [("bob", 2), ("eve", 1)]
    assert "0 ownerless row(s) given to carol" in run("carol"), "a second run finds nothing left"


def test_a_version_number_the_account_gave_out_before_is_not_given_again(carol):
    """Carol's bob v2 was deleted: the ownerless bob v2 she is handed becomes v3, and her next clone v4."""
    from echofu.versioning import create_next_version

    for clip in ("1.wav", "2.wav"):
        newest = create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=carol.pk, reference_path=clip)
    newest.delete()
    handed = SpeakerProfile.objects.create(speaker_id="bob", version=2, reference_path="audios/old_bob.wav")
    assert "'bob v2' as 'bob v3'" in run("carol", "--dry-run")
    run("carol")
    assert (fresh(handed).owner, fresh(handed).version) == (carol, 3)
    assert create_next_version(SpeakerProfile, {"speaker_id": "bob"}, owner_id=carol.pk, reference_path="3.wav").version == 4


def test_an_unknown_account_is_refused_and_nothing_changes(rows):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        run("nobody")
    assert fresh(rows["voice"]).owner_id is None
