"""/api/history/audio_clone: the voice jobs, each synthesis with the id of the speech it made."""
from __future__ import annotations

from assets.models import GeneratedAudio
from monitoring import history
from monitoring.models import Job


@history.provides("audio_clone")
def voice_history(request=None) -> list[dict]:
    entries = history.job_entries("audio_clone", request)
    syntheses = [entry["task_id"] for entry in entries if entry["type"] == Job.Kind.SYNTHESIZE]
    speech_of = dict(GeneratedAudio.objects.filter(job_id__in=syntheses).values_list("job_id", "pk"))
    for entry in entries:
        if entry["type"] == Job.Kind.SYNTHESIZE:
            # What /api/generated-audios/<id>/delete takes (addition); null once the speech was deleted, while
            # the job's `result` keeps what it made then.
            entry["audio_id"] = speech_of.get(entry["task_id"])
    return entries
