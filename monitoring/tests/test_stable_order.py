"""Lists made in one instant: rows that share a created_at come newest (last made) first, the same on
every call, so that a list cut at its limit keeps the same rows."""
from datetime import datetime, timezone

import pytest

from assets.models import ReferenceAudio, SpeakerProfile
from generation.models import GeneratedVideo
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

INSTANT = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
NAMES = ["a", "c", "b", "e", "d"]  # made in this order, which neither the names nor the files follow


def made_in_one_instant(model, rows):
    made = [model.objects.create(**fields) for fields in rows]
    model.objects.filter(pk__in=[row.pk for row in made]).update(created_at=INSTANT)
    return made


def test_catalog_lists_break_ties_newest_made_first(client, media_root):
    for name in NAMES:
        (media_root / f"voices/ref_voices/{name}.wav").write_bytes(b"RIFF")
        (media_root / f"models/EchoLite/{name}").mkdir(parents=True)
        (media_root / f"videos/res_videos/{name}.mp4").write_bytes(b"mp4")
    made_in_one_instant(ReferenceAudio, [{"file": f"voices/ref_voices/{name}.wav", "size": 4} for name in NAMES])
    made_in_one_instant(TalkingHeadModel, [{"model_type": "EchoLite", "name": name, "person": name} for name in NAMES])
    made_in_one_instant(SpeakerProfile, [{"speaker_id": name, "reference_path": f"voices/ref_voices/{name}.wav"} for name in NAMES])
    made_in_one_instant(GeneratedVideo, [{"file": f"videos/res_videos/{name}.mp4", "size": 3} for name in NAMES])
    newest_first = NAMES[::-1]
    for _ in range(2):
        assert [row["filename"] for row in client.get("/api/reference-audios").json()["files"]] == [f"{name}.wav" for name in newest_first]
        assert [row["name"] for row in client.get("/api/available-models").json()["models"]] == newest_first
        assert [row["id"] for row in client.get("/api/cloned-audios").json()["audios"]] == newest_first
        assert [row["video_path"].rsplit("/", 1)[1] for row in client.get("/api/history/video_generation").json()] \
            == [f"{name}.mp4" for name in newest_first]


def test_job_lists_break_ties_by_task_id(client):
    made_in_one_instant(Job, [{"id": f"train_20250101_120000_{name}", "kind": Job.Kind.TRAIN} for name in NAMES])
    by_task_id = sorted((f"train_20250101_120000_{name}" for name in NAMES), reverse=True)
    for _ in range(2):
        assert [row["task_id"] for row in client.get("/api/history/model_training").json()] == by_task_id
        assert [row["task_id"] for row in client.get("/api/tasks").json()["tasks"]] == by_task_id
        assert [row["task_id"] for row in client.get("/api/tasks?limit=2").json()["tasks"]] == by_task_id[:2]
