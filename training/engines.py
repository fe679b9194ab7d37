"""Talking-head engines configured from settings (the engines package itself knows no Django)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from echofu import availability as remembered_availability, loaded_models
from engines.progress import Progress
from engines.provenance import LabelText
from engines.talking_head import MODEL_TYPES, RenderResult, TalkingHeadEngine, create_engine


def engine_config(model_type: str) -> dict:
    config = settings.ECHOFU
    if model_type == "ER-NeRF":
        prefix = "ERNERF"
    elif model_type == "SyncTalk":
        prefix = "SYNCTALK"
    else:
        return {}
    return {
        "checkout": Path(config[f"{prefix}_DIR"]) if config[f"{prefix}_DIR"] else None,
        "python": config[f"{prefix}_PYTHON"],
        "docker_image": config[f"{prefix}_DOCKER_IMAGE"] or None,
        "audio_features": config[f"{prefix}_AUDIO_FEATURES"] or None,
        "require_cuda": config["EXTERNAL_REQUIRE_CUDA"],
    }


def get_engine(model_type: str) -> TalkingHeadEngine:
    return create_engine(model_type, **engine_config(model_type))


def render(engine: TalkingHeadEngine, model_dir: Path, audio_path: Path, out_path: Path, progress: Progress,
           device: str = "cpu", label: LabelText | None = None) -> RenderResult:
    """`engine.render`, with the model and Whisper's encoder kept loaded in this worker when the engine
    renders in-process (EchoLite), and the job's "AI generated" `label` (provenance.stamping.video_label)
    drawn as the frames are made (`result.labelled`); the external engines start their own process per
    render, and publishing labels their frames."""
    if not hasattr(engine, "render_loaded"):
        return engine.render(model_dir, audio_path, out_path, progress, device)
    model = loaded_models.talking_head(engine, model_dir, device)
    return engine.render_loaded(model, audio_path, out_path, progress, loaded_models.speech_encoder(), label=label)


def availability(model_type: str) -> tuple[bool, str]:
    """Checking an external checkout starts its interpreter (imports torch): remembered a while."""
    config = engine_config(model_type)
    return remembered_availability.remembered(("talking_head", model_type, repr(sorted(config.items()))), model_type,
                                              lambda: create_engine(model_type, **config).availability())


def all_availability(request_or_user) -> list[dict]:
    """Each model type's row for /api/available-models (its documented shape: `type`, not `name`)."""
    rows = []
    for model_type in MODEL_TYPES:
        row = remembered_availability.listing(model_type, availability(model_type), request_or_user)
        rows.append({"type": row.pop("name"), **row})
    return rows
