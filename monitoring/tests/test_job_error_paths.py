"""A failed job's reason as users read it (/api/tasks, /api/history, the blocking endpoints' 500):
the reason stays, the server's absolute paths do not; the server log keeps the full text."""
import errno
import json
import logging

import pytest
from django.http import JsonResponse

from monitoring.models import Job
from monitoring.sync import answer_when_done
from monitoring.tests.failing import failed_job

pytestmark = pytest.mark.django_db


def failed_probe(monkeypatch, exc: BaseException) -> Job:
    return failed_job(monkeypatch, exc, Job.Kind.PROBE)


def shown_texts(client, job: Job) -> list[str]:
    task = client.get(f"/api/tasks/{job.pk}").json()
    listed = client.get("/api/history/video_probe").json()
    answer = json.loads(answer_when_done(job, lambda done: JsonResponse({}), timeout=0).content)
    return [task["error"], *task["log_tail"], next(entry["error"] for entry in listed if entry["task_id"] == job.pk),
            answer["message"], answer.get("localized_message", "")]


def test_a_full_disk_names_the_media_folder_relative_to_media(client, monkeypatch, media_root, caplog):
    written = media_root / "results/videos/talk.mp4"
    with caplog.at_level(logging.ERROR, logger="monitoring.runner"):
        job = failed_probe(monkeypatch, OSError(errno.ENOSPC, "No space left on device", str(written)))
    for text in shown_texts(client, job):
        assert str(media_root) not in text, text
    task_error = client.get(f"/api/tasks/{job.pk}").json()["error"]
    assert "media/results/videos/talk.mp4" in task_error and "No space left on device" in task_error, task_error
    assert str(written) in caplog.text, "the server log keeps the full path"


def test_other_absolute_paths_are_reduced_to_their_last_part(client, monkeypatch, media_root, caplog):
    checkpoint = "/opt/secret-install/checkpoints/model.pth"
    with caplog.at_level(logging.ERROR, logger="monitoring.runner"):
        job = failed_probe(monkeypatch, FileNotFoundError(errno.ENOENT, "No such file or directory", checkpoint))
    for text in shown_texts(client, job):
        assert "/opt/secret-install" not in text, text
    assert "model.pth" in job.error and "No such file or directory" in job.error, job.error
    assert checkpoint in caplog.text


def test_urls_and_slashes_inside_words_are_left_as_they_are(client, monkeypatch, media_root):
    job = failed_probe(monkeypatch, RuntimeError("ER-NeRF/SyncTalk server http://127.0.0.1:50000/inference_zero_shot answered 1/2"))
    assert job.error == "ER-NeRF/SyncTalk server http://127.0.0.1:50000/inference_zero_shot answered 1/2"
