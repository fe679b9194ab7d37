"""A failed job's reason in the reader's language on /api/tasks (the job cards), in Chinese in the
legacy contract's `message`, and in English on the row (the admin, logs)."""
import errno
import json
import os
import sys

import pytest
from django.http import JsonResponse
from django.utils import translation

from monitoring import runner
from monitoring.models import Job
from monitoring.sync import answer_when_done
from monitoring.tests.failing import failed_job

pytestmark = pytest.mark.django_db


def task_error(client, job: Job, language: str | None = None) -> str:
    if language:
        client.cookies["django_language"] = language
    return client.get(f"/api/tasks/{job.pk}").json()["error"]


def test_a_full_disk_is_reported_in_the_pages_language(client, monkeypatch, media_root):
    job = failed_job(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    assert job.error.startswith("disk full: no space left on the media volume")
    chinese = task_error(client, job)
    assert chinese.startswith("磁盘已满: 媒体卷") and "No space left on device" in chinese
    assert task_error(client, job, "en") == job.error


def test_an_engines_reason_is_translated_with_its_values(client, monkeypatch, media_root):
    from engines.testing.simple_media import write_tone_wav
    from engines.voice.speaker import analyse_reference

    short = write_tone_wav(media_root / "short.wav", seconds=0.5)
    with pytest.raises(ValueError) as refused:
        analyse_reference(short, media_root / "clean.wav", encoder=None)
    job = failed_job(monkeypatch, refused.value)
    assert job.error == "the reference is too short: 0.5 s, at least 3 s are needed"
    assert task_error(client, job) == "参考音频太短: 0.5 秒, 至少需要 3 秒"
    assert task_error(client, job, "en") == job.error


def test_a_reference_refused_for_its_sound_says_why_in_the_pages_language(client, monkeypatch, media_root):
    from engines import media
    from engines.testing.simple_media import write_tone_wav
    from engines.voice.speaker import analyse_reference

    tone = write_tone_wav(media_root / "tone.wav", seconds=5.0)
    samples = media.load_audio(tone, 16000)
    media.write_wav(tone, samples / abs(samples).max() * 10 ** (-62 / 20), 16000)  # a peak of -62 dBFS
    with pytest.raises(ValueError) as refused:
        analyse_reference(tone, media_root / "clean.wav", encoder=None)
    job = failed_job(monkeypatch, refused.value, kind=Job.Kind.CLONE)
    assert job.error.startswith("the reference is too quiet: its loudest moment is -6")
    assert task_error(client, job).startswith("参考音频太安静: 最响处为 -6")
    with translation.override("en"):
        answer = answer_when_done(job, lambda done: JsonResponse({}), timeout=0)
    assert json.loads(answer.content)["message"].startswith("参考音频太安静"), "the contract's message is Chinese"
    # The user's to change, not a server fault: it was a 500, and the job's log a traceback around the reason.
    assert answer.status_code == 422
    assert job.failed_on_input and client.get(f"/api/tasks/{job.pk}").json()["failed_on_input"] is True
    assert "Traceback" not in job.log and "too quiet" in job.log


def test_the_legacy_answer_of_a_failed_job_is_chinese_whatever_the_pages_language(client, monkeypatch, media_root):
    job = failed_job(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    with translation.override("en"):  # a request from the English studio
        answer = answer_when_done(job, lambda done: JsonResponse({}), timeout=0)
    assert answer.status_code == 500 and not job.failed_on_input
    assert json.loads(answer.content)["message"].startswith("磁盘已满: 媒体卷")


@pytest.mark.parametrize("server_stopping, chinese, english", [
    (False, "另一台机器上运行此任务的进程最后一次有响应是在 ", "the worker running this job on another machine was last heard of at "),
    (True, "服务器在此任务完成前被停止 (ECHOFU_STOP_GRACE_SECONDS 为运行中的任务留出完成的时间); 未完成的输出已丢弃, 请重新运行",
     "the server was stopped before this job finished (ECHOFU_STOP_GRACE_SECONDS gives running jobs time to finish); "
     "its partial output was discarded, run it again"),
], ids=["went-quiet", "stopped-with-the-server"])
def test_a_worker_lost_mid_job_is_reported_in_the_pages_language(client, media_root, server_stopping, chinese, english):
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, worker="elsewhere:1", heartbeat_at=None, server_stopping=server_stopping)
    assert runner.recover_stale_jobs() == [job.pk]
    assert task_error(client, job).startswith(chinese)
    assert task_error(client, job, "en").startswith(english)


def test_a_training_refused_by_the_engines_own_check_says_why_in_the_pages_language(client, monkeypatch, media_root, tmp_path):
    from engines.talking_head import create_engine
    from engines.talking_head.base import TrainParams
    from engines.testing.simple_media import write_plain_video

    video = write_plain_video(tmp_path / "short.mp4", seconds=1.0, size=(96, 96))
    with pytest.raises(ValueError) as refused:
        create_engine("EchoLite").train(video, tmp_path / "work", TrainParams())
    job = failed_job(monkeypatch, refused.value)
    assert job.error.startswith("the video cannot be used for training: ") and "the video is too short: 1.0 s" in job.error
    chinese = task_error(client, job)
    assert chinese.startswith("视频不能用于训练: ") and "视频太短: 1.0 秒" in chinese and "too short" not in chinese
    assert task_error(client, job, "en") == job.error


def test_a_jobs_own_log_lines_are_shown_in_the_pages_language(client, monkeypatch, media_root):
    from engines.talking_head.echolite.train import epoch_line

    def handler(job, ctx):
        ctx.progress("train", 0.5, epoch_line(1, 3, 0.01234, 4.2))
        ctx.log("ffmpeg said: done")  # another program's output is shown as it came

    monkeypatch.setitem(runner._handlers, Job.Kind.RENDER, handler)
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and "] epoch 1/3 loss 0.0123 (4s)" in job.log  # the admin's text, in English

    def log_tail(language):
        client.cookies["django_language"] = language
        return [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]]

    assert log_tail("en") == ["epoch 1/3 loss 0.0123 (4s)", "ffmpeg said: done"]
    assert log_tail("zh-hans") == ["第 1/3 轮, 损失 0.0123 (4 秒)", "ffmpeg said: done"]


def test_an_external_projects_output_stays_as_it_came_and_our_notes_on_it_are_translated(client, monkeypatch, media_root):
    from engines.talking_head import external

    printed = "print('[INFO] loading data'); print('50%|#####     | 5/10 [00:05<00:05,  1.00it/s]')"
    command = external.Command([sys.executable, "-c", printed], media_root, dict(os.environ))
    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, lambda job, ctx: external.run_command(command, "train_head", ctx.progress))
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    runner.execute(job.pk)

    def log_tail(language):
        client.cookies["django_language"] = language
        return [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]]

    english, chinese = log_tail("en"), log_tail("zh-hans")
    # the note names the stage as the job card does, not by its identifier
    assert english[1:] == ["[INFO] loading data", "training the head: 50%, eta 5s"] and english[0].startswith("$ ")
    assert chinese == [english[0], "[INFO] loading data", "训练头部: 50%, 约 5 秒后完成"]


def test_an_external_command_that_fails_is_reported_in_the_pages_language_with_its_output_as_it_came(client, monkeypatch, media_root):
    from engines.talking_head import external

    printed = "print('[INFO] loading data'); import sys; sys.exit(3)"
    command = external.Command([sys.executable, "-c", printed], media_root, dict(os.environ))
    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, lambda job, ctx: external.run_command(command, "preprocess", ctx.progress))
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("preprocessing the video failed: exit code 3 from ") and job.error.endswith("\n--- last output ---\n[INFO] loading data")
    chinese = task_error(client, job)
    assert chinese.startswith("视频预处理失败: 命令 ") and "以退出码 3 结束" in chinese and "exit code" not in chinese
    assert chinese.endswith("\n--- 最后的输出 ---\n[INFO] loading data"), "the project's own output stays as it came"
    assert task_error(client, job, "en") == job.error
    with translation.override("en"):
        answer = answer_when_done(job, lambda done: JsonResponse({}), timeout=0)
    assert json.loads(answer.content)["message"] == chinese, "the contract's message is Chinese"


def test_a_known_failure_of_an_external_project_is_explained_in_the_pages_language(client, monkeypatch, media_root):
    from engines.talking_head.external import ExternalCommandFailed

    job = failed_job(monkeypatch, ExternalCommandFailed("train_head", "exit code 1", ["torch.cuda.OutOfMemoryError: CUDA out of memory."]))
    assert job.error.startswith("training the head failed: exit code 1 (the GPU ran out of memory)")
    assert task_error(client, job).startswith("训练头部失败: exit code 1 (GPU 显存不足)")


def test_an_incomplete_external_model_names_what_is_missing_in_the_pages_language(client, monkeypatch, media_root, tmp_path):
    from engines.talking_head import create_engine

    engine = create_engine("ER-NeRF", checkout=None)
    missing = [f"torso_imgs/{frame}.png" for frame in range(8)]
    monkeypatch.setattr(type(engine), "_manifest", lambda self, model_dir: {})
    monkeypatch.setattr(type(engine), "missing_render_files", lambda self, model_dir: missing)
    with pytest.raises(ValueError) as refused:
        engine.render(tmp_path / "model", tmp_path / "speech.wav", tmp_path / "out.mp4")
    job = failed_job(monkeypatch, refused.value)
    shown = ", ".join(missing[:5])
    assert job.error == f"the ER-NeRF model in model is incomplete ({shown} and 3 more missing): train it again"
    assert task_error(client, job) == f"model 中的 ER-NeRF 模型不完整 (缺少 {shown} 及其他 3 个文件): 请重新训练"
    assert task_error(client, job, "en") == job.error


def test_a_voice_server_that_cannot_be_reached_is_named_in_the_pages_language(client, monkeypatch, media_root):
    from engines.voice.cosyvoice import CosyVoiceError, CosyVoiceSynthesizer

    with pytest.raises(CosyVoiceError) as failed:
        CosyVoiceSynthesizer("http://127.0.0.1:9", timeout=2)._request("inference_sft", {"tts_text": "你好"}, b"")
    job = failed_job(monkeypatch, failed.value)
    assert job.error.startswith("CosyVoice server at http://127.0.0.1:9 is unreachable: ")
    assert task_error(client, job).startswith("无法连接 http://127.0.0.1:9 上的 CosyVoice 服务器: ")
    assert task_error(client, job, "en") == job.error


def test_a_speaker_deleted_before_its_synthesis_ran_is_named_in_the_pages_language(client, monkeypatch, media_root):
    from types import SimpleNamespace

    from assets import speech
    from engines.progress import no_progress

    with pytest.raises(ValueError) as refused:
        speech.synthesize("Hello.", "ghost", 0.0, SimpleNamespace(owner_id=None), no_progress)
    job = failed_job(monkeypatch, refused.value)
    assert task_error(client, job) == "未知的说话人 'ghost', 请先提取说话人特征"
    assert task_error(client, job, "en") == "unknown speaker 'ghost': extract the speaker's features first"


def test_a_cancelled_jobs_last_log_line_is_in_the_pages_language(client, monkeypatch, media_root):
    from engines.progress import Cancelled

    def handler(job, ctx):
        raise Cancelled()

    monkeypatch.setitem(runner._handlers, Job.Kind.RENDER, handler)
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    runner.execute(job.pk)
    client.cookies["django_language"] = "zh-hans"
    assert [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]] == ["已取消"]
    client.cookies["django_language"] = "en"
    assert [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]] == ["cancelled"]


@pytest.mark.django_db(transaction=True)
def test_a_job_failed_before_reasons_were_kept_as_templates_reads_in_the_pages_language(client):
    """An upgraded installation's jobs that failed before 0004 kept only their English text: one that is a
    reason of ours without values (a worker lost under the earlier release) reads translated like a new one;
    any other text stays as it was."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("monitoring", "0003_recovery_schedule")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_jobs = executor.loader.project_state(before).apps.get_model("monitoring", "Job").objects
    lost = old_jobs.create(id="tts_lost", kind="synthesize", status="failed", params={},
                           error="the worker running this job stopped (killed or crashed); its partial output was discarded")
    own_words = old_jobs.create(id="tts_other", kind="synthesize", status="failed", params={}, error="CUDA error: out of memory")
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    assert task_error(client, Job.objects.get(pk=lost.pk)) == "运行此任务的进程已停止 (被终止或崩溃); 未完成的输出已丢弃"
    assert task_error(client, Job.objects.get(pk=lost.pk), "en") == lost.error
    assert task_error(client, Job.objects.get(pk=own_words.pk)) == "CUDA error: out of memory"


def test_a_value_that_is_not_a_number_in_a_log_line_or_reason_is_kept_and_the_job_ends(client, monkeypatch, media_root):
    """A loss gone to NaN in a training's epoch line made the row's JSON invalid: the database refused the log
    write, then the failure's own log write, and the job stayed 'running' forever, its worker gone on to others."""
    from engines.talking_head.echolite.train import epoch_line

    def handler(job, ctx):
        ctx.progress("train", 0.5, epoch_line(1, 2, float("nan"), 3.0))
        raise ValueError(epoch_line(2, 2, float("-inf"), 4.0))

    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, handler)
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == "epoch 2/2 loss -inf (4s)"
    client.cookies["django_language"] = "en"
    task = client.get(f"/api/tasks/{job.pk}").json()
    assert task["state"] == "failed" and task["error"] == "epoch 2/2 loss -inf (4s)"
    assert "epoch 1/2 loss nan (3s)" in [entry["text"] for entry in task["log_entries"]]
    client.cookies["django_language"] = "zh-hans"
    assert any(line.endswith("] 第 1/2 轮, 损失 nan (3 秒)") for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"])


def test_a_value_that_is_not_a_number_inside_a_list_of_values_is_read_back(client, monkeypatch, media_root):
    """A list of values is kept item by item, a NaN among them as {"not_finite": "nan"}: read back, that item was
    taken for a kept message, and the job's log and error raised KeyError 'template' on /api/tasks and in the admin."""
    from echofu.messages import restored
    from engines.messages import Message

    reason = Message("losses per epoch: {losses}", losses=[0.5, float("nan")])

    def handler(job, ctx):
        ctx.progress("train", 0.5, reason)
        raise ValueError(reason)

    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, handler)
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == "losses per epoch: 0.5; nan"
    assert str(restored(job.kept_error)) == job.error
    client.cookies["django_language"] = "en"
    task = client.get(f"/api/tasks/{job.pk}").json()
    assert task["error"] == "losses per epoch: 0.5; nan"
    assert "losses per epoch: 0.5; nan" in [entry["text"] for entry in task["log_entries"]]
