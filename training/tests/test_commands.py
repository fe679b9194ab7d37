"""train / batch_train / render management commands: real runs, a bad video in a batch, bad arguments."""
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engines import media
from engines.testing.face_video import make_talking_face_video, write_speech_wav
from engines.testing.simple_media import write_plain_video
from generation.models import GeneratedVideo
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the command runs the jobs in a thread with its own connection
def test_batch_train_finishes_the_good_videos_and_says_why_the_bad_one_failed(tmp_path, media_root):
    folder = tmp_path / "batch"
    folder.mkdir()
    make_talking_face_video(folder / "alice.mp4", seconds=11, size=256, seed=11)
    make_talking_face_video(folder / "bob.mp4", seconds=11, size=256, seed=12, motion=1.5)
    write_plain_video(folder / "nobody.mp4", seconds=11, size=(256, 256))
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 3 not trained"):  # the exit status says not all trained
        call_command("batch_train", str(folder), "--epochs", "1", stdout=out)
    table = out.getvalue()
    rows = {line.split()[0]: line for line in table.splitlines() if line.split() and line.split()[0].endswith(".mp4")}
    assert "succeeded" in rows["alice.mp4"] and "succeeded" in rows["bob.mp4"], table
    assert "refused" in rows["nobody.mp4"] and "face" in rows["nobody.mp4"], table
    assert "2 of 3 trained" in table
    models = TalkingHeadModel.objects.order_by("person")
    assert [model.person for model in models] == ["alice", "bob"] and all(model.exists() for model in models)
    assert Job.objects.filter(kind="train", status="succeeded").count() == 2

    # Render with one of them from a local audio file.
    speech = write_speech_wav(tmp_path / "hello.wav", seconds=2.0, seed=3)
    out = StringIO()
    call_command("render", models[0].public_dir, "--audio", str(speech), stdout=out)
    video = GeneratedVideo.objects.get()
    assert f"video: {video.relative_path}" in out.getvalue()
    assert media.verify(media_root / video.file.name, "video").duration == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("command, args, message", [
    ("train", ["/no/such/video.mp4"], "no such video file"),
    ("batch_train", ["{empty}"], "no videos to train"),
    ("batch_train", ["{csv}"], "needs a 'video' column"),
    ("batch_train", ["{blank_cell}"], "line 2: no video named"),
    ("batch_train", ["{gbk}"], "not UTF-8 text"),
    ("batch_train", ["{huge_cell}"], "not a readable CSV"),
    ("render", ["media/models/EchoLite/absent", "--audio", "{audio}"], "模型不存在"),
    ("render", ["../../etc", "--audio", "{audio}"], "outside the media folder"),
])
def test_bad_arguments_are_refused_with_a_message(tmp_path, command, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "plan.csv").write_text("file,model\nx.mp4,EchoLite\n")
    (tmp_path / "blank.csv").write_text("video,model\n,EchoLite\n")
    (tmp_path / "gbk.csv").write_text("video,model\n训练视频.mp4,EchoLite\n", encoding="gbk")  # as Excel saves it on Chinese Windows
    (tmp_path / "huge.csv").write_text("video,params\na.mp4," + "x" * 200_000 + "\n")  # past the csv module's field limit
    speech = write_speech_wav(tmp_path / "a.wav", seconds=1.0)
    args = [arg.format(empty=tmp_path / "empty", csv=tmp_path / "plan.csv", blank_cell=tmp_path / "blank.csv", gbk=tmp_path / "gbk.csv",
                        huge_cell=tmp_path / "huge.csv", audio=speech) for arg in args]
    with pytest.raises(CommandError, match=message):
        call_command(command, *args, stdout=StringIO())
    assert not Job.objects.exists()


def test_a_batch_row_with_epochs_that_are_no_number_is_refused_with_the_reason(tmp_path):
    (tmp_path / "plan.csv").write_text("video,epochs\nalice.mp4,ten\n")
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 not trained"):
        call_command("batch_train", str(tmp_path / "plan.csv"), stdout=out)
    row = next(line for line in out.getvalue().splitlines() if line.startswith("alice.mp4"))
    assert "refused" in row and "epochs 'ten' is not a whole number" in row, row
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)  # the command runs the jobs in a thread with its own connection
def test_a_local_file_given_again_is_the_catalog_row_it_became(tmp_path, media_root, plain_video):
    """A command run again (batch_train after a failure) does not copy its videos and audio in once more:
    each copy took the disk space again and trained as another person (clip_2 v1, not clip v2)."""
    from assets.models import ReferenceAudio, TrainingVideo

    speech = write_speech_wav(tmp_path / "hello.wav", seconds=1.0)
    (media_root / "models/EchoLite/empty").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="empty")
    for _ in range(2):
        with pytest.raises(CommandError, match="face"):  # refused after its import: no face in it
            call_command("train", str(plain_video), stdout=StringIO())
        with pytest.raises(CommandError, match="failed"):  # fails after its import: the model folder is empty
            call_command("render", "media/models/EchoLite/empty", "--audio", str(speech), stdout=StringIO())
    assert [(row.original_name, row.file.name) for row in TrainingVideo.objects.all()] == [("clip.mp4", "videos/ref_videos/clip.mp4")]
    assert [path.name for path in (media_root / "videos/ref_videos").iterdir()] == ["clip.mp4"]
    assert ReferenceAudio.objects.count() == 1 and len(list((media_root / "voices/ref_voices").iterdir())) == 1


def test_a_model_deleted_while_the_render_command_queues_its_job_is_refused_with_a_message(tmp_path, media_root, monkeypatch):
    """Deleted from the studio between the command's form check and its job: a CommandError as for a model
    not found, not a traceback."""
    from contextlib import contextmanager

    from echofu import removal
    from monitoring import repeats

    speech = write_speech_wav(tmp_path / "hello.wav", seconds=1.0)
    (media_root / "models/EchoLite/empty").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="empty")
    asking = repeats.as_asked

    @contextmanager
    def deleted_first(relative):
        assert removal.delete_unless_in_use(TalkingHeadModel.objects.filter(pk=model.pk)) == {"training.TalkingHeadModel": 1}
        with asking(relative) as asked:
            yield asked

    monkeypatch.setattr(repeats, "as_asked", deleted_first)
    with pytest.raises(CommandError, match="^model_param: 模型已被删除: 请另选一个$"):
        call_command("render", "media/models/EchoLite/empty", "--audio", str(speech), stdout=StringIO())
    assert not Job.objects.exists()


def test_a_video_deleted_while_the_train_command_queues_its_job_is_refused_with_a_message(media_root, monkeypatch):
    from django.utils import timezone

    from assets.models import TrainingVideo
    from echofu import removal
    from training import cli

    write_plain_video(media_root / "videos/ref_videos/anna.mp4")
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", name="anna", probe_status=TrainingVideo.ProbeStatus.OK,
                                         probe={"errors": [], "warnings": []}, consent_name="Anna", consent_wording="test statement",
                                         consent_at=timezone.now())
    checking = cli.refusal

    def deleted_first(*args):
        assert removal.delete_unless_in_use(TrainingVideo.objects.filter(pk=video.pk)) == {"assets.TrainingVideo": 1}
        return checking(*args)

    monkeypatch.setattr(cli, "refusal", deleted_first)
    with pytest.raises(CommandError, match="^media/videos/ref_videos/anna.mp4: ref_video: 训练视频已被删除: 请重新上传$"):
        call_command("train", "media/videos/ref_videos/anna.mp4", "--gpu", "CPU", "--epochs", "1", stdout=StringIO())
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)  # the job runs in the command's thread with its own connection
def test_ctrl_c_during_a_command_cancels_the_job_it_runs_and_says_so(monkeypatch):
    """Ctrl-C while train/render/batch_train ran its job here printed a KeyboardInterrupt traceback and left
    the job 'running' until a cluster's recovery called it a crashed worker."""
    import time

    from monitoring import runner
    from training import follow

    def slow_job(job, ctx):
        for step in range(400):
            ctx.progress("work", step / 400)
            time.sleep(0.05)
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.SYNTHESIZE, slow_job)
    job = runner.new_job(Job.Kind.SYNTHESIZE, {}, prefix="tts")

    def ctrl_c_once_running(line):
        if " running " in line and "work" in line:
            raise KeyboardInterrupt

    workers = follow.start([job], inline=True)
    with pytest.raises(CommandError, match=f"interrupted: {job.pk} cancelled"):
        follow.follow([job], ctrl_c_once_running, workers)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.finished_at is not None
    assert not runner.job_workdir(job.pk).exists()


def test_ctrl_c_while_following_a_queued_job_leaves_it_to_the_clusters():
    from monitoring import runner
    from training import follow

    job = runner.new_job(Job.Kind.SYNTHESIZE, {}, prefix="tts")  # as --queue hands it over; no cluster runs in this test

    def ctrl_c(line):
        raise KeyboardInterrupt

    with pytest.raises(CommandError, match=f"interrupted: {job.pk} go on in the queue"):
        follow.follow([job], ctrl_c, [])
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.cancel_requested


def test_following_a_queued_training_says_when_it_should_start_and_be_done(settings):
    from datetime import timedelta

    from django.utils import timezone

    from training import follow

    clusters = settings.Q_CLUSTER["ALT_CLUSTERS"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {**clusters, "cpu": {**clusters["cpu"], "workers": 1}}}
    Job.objects.create(id="train_running", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.5,
                       started_at=timezone.now() - timedelta(seconds=600), created_at=timezone.now() - timedelta(seconds=700))
    waiting = Job.objects.create(id="train_waiting", kind=Job.Kind.TRAIN, queue="cpu", eta_seconds=300)
    lines = []
    follow.follow([waiting], lines.append, timeout=0.01)
    assert lines[0].endswith("(queue #1) eta start 600s, done 900s"), lines
    # Run here (without --queue) the jobs wait for one another, not for the clusters' workers: no forecast.
    assert follow.bar(waiting, in_clusters=False).endswith("(queue #1)")


def test_following_a_training_past_its_estimate_says_by_how_much_it_has_overrun():
    """Estimated at 300 s, it has run 400 s and is a fifth done: no time left can be told, and the bar said nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from training import follow

    late = Job.objects.create(id="train_late", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                              params={"estimated_seconds": 300}, started_at=timezone.now() - timedelta(seconds=400))
    lines = []
    follow.follow([late], lines.append, timeout=0.01)
    assert re.search(r" eta unknown, 10\ds over its 300s estimate$", lines[0]), lines
    # Half done, its own pace tells the time left again: 400 s more.
    Job.objects.filter(pk=late.pk).update(progress=0.5)
    late.refresh_from_db()
    assert re.search(r" eta 40\ds, 10\ds over its 300s estimate$", follow.bar(late))


def test_following_a_training_says_once_when_it_runs_past_its_estimate():
    from datetime import timedelta

    from django.utils import timezone

    from training import follow

    crossing = Job.objects.create(id="train_crossing", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                                  params={"estimated_seconds": 300}, started_at=timezone.now() - timedelta(seconds=298))
    lines = []
    follow.follow([crossing], lines.append, poll=0.2, timeout=4)
    assert len(lines) == 2 and re.search(r" eta \d+s$", lines[0]) and re.search(r" eta unknown, \ds over its 300s estimate$", lines[1]), lines


def test_following_a_training_behind_one_that_overran_says_why_its_start_is_unknown(settings):
    from datetime import timedelta

    from django.utils import timezone

    from training import follow

    clusters = settings.Q_CLUSTER["ALT_CLUSTERS"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {**clusters, "cpu": {**clusters["cpu"], "workers": 1}}}
    Job.objects.create(id="train_late", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                       params={"estimated_seconds": 300}, started_at=timezone.now() - timedelta(seconds=400))
    behind = Job.objects.create(id="train_behind", kind=Job.Kind.TRAIN, queue="cpu", eta_seconds=300)
    assert follow.bar(behind).endswith("(queue #1) eta start unknown: the job ahead is taking longer than estimated")
