"""The endpoint list shown on the home page (and kept in step with README's API table)."""
from django.utils.translation import gettext_lazy as _

API_TABLE = [
    ("POST", "/api/upload-reference-audio", _("upload a voice reference (field audio)")),
    ("GET", "/api/reference-audios", _("list reference audios")),
    ("POST", "/api/upload-training-video", _("upload a training video (field video); a probe job checks it")),
    ("GET", "/api/training-videos", _("list training videos with their probe results")),
    ("GET", "/api/available-models", _("list trained models and which engines are usable")),
    ("GET", "/api/model-details/<type>/<name>", _("one model's files and metrics")),
    ("GET", "/api/cloned-audios", _("list speaker profiles")),
    ("POST", "/save_audio", _("store a browser recording as media/audios/input.wav")),
    ("POST", "/video_generation", _("render a talking-head video from audio or text")),
    ("POST", "/model_training", _("queue a training job")),
    ("POST", "/audio_clone", _("extract a speaker / speak text in a cloned voice")),
    ("POST", "/chat_system", _("voice chat turn")),
    ("GET", "/api/chat/turns/<id>", _("a chat turn as it stands: sentence videos ready so far, then the joined answer")),
    ("GET", "/api/status", _("CPU, memory, disk and GPU load")),
    ("GET", "/api/history/<type>", _("past jobs of a type, newest first")),
    ("GET", "/video/<path>", _("stream a video (Range supported)")),
    ("GET", "/media/<path>", _("stream any stored file (Range supported)")),
    ("GET", "/api/engines", _("speech engines and chat providers, and which can run here")),
    ("GET", "/api/tasks", _("recent jobs, newest first (?kind=render,chat&active=1&limit=N)")),
    ("GET", "/api/tasks/<id>", _("a job's state, stage, progress, ETA, log tail")),
    ("POST", "/api/tasks/<id>/cancel", _("cancel a job")),
    ("GET", "/api/train-status/<task_id>", _("a training job's progress and model path")),
    ("POST", "/api/verify-media", _("whether this studio made a file (field file), and from what")),
]
