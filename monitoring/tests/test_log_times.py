"""When each job log line was written, as /api/tasks tells the pages."""
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from monitoring import runner
from monitoring.models import Job

pytestmark = pytest.mark.django_db


def test_a_log_line_comes_with_the_instant_it_was_written(client, monkeypatch, media_root, settings):
    # Its HH:MM:SS was the server's clock, which the pages showed beside list times in the browser's zone.
    monkeypatch.setitem(runner._handlers, Job.Kind.RENDER, lambda job, ctx: ctx.log("rendering"))
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    before = timezone.now().replace(microsecond=0)
    runner.execute(job.pk)

    task = client.get(f"/api/tasks/{job.pk}").json()
    (entry,) = [entry for entry in task["log_entries"] if entry["text"] == "rendering"]
    logged = datetime.fromisoformat(entry["time"])
    assert before <= logged <= timezone.now() and logged.utcoffset() is not None
    assert settings.TIME_ZONE == "Asia/Shanghai"  # the admin's text, and the legacy log_tail, keep the server's clock
    assert f"[{timezone.localtime(logged):%H:%M:%S}] rendering" in task["log_tail"]
    assert f"[{timezone.localtime(logged):%H:%M:%S}] rendering" in Job.objects.get(pk=job.pk).log


def test_a_line_logged_before_its_instant_was_kept_keeps_its_time_in_its_text(client):
    job = Job.objects.create(id="render_1", kind=Job.Kind.RENDER, log_messages=[["12:00:00", "older"], ["2025-01-01T04:00:00+00:00", "newer"]])
    task = client.get(f"/api/tasks/{job.pk}").json()
    assert task["log_entries"] == [{"time": None, "text": "[12:00:00] older"}, {"time": "2025-01-01T04:00:00+00:00", "text": "newer"}]
    assert task["log_tail"] == ["[12:00:00] older", "[12:00:00] newer"]  # 04:00 UTC is noon in Shanghai
