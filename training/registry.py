"""The model registry: finished trainings moved into media/models/<type>/<name> and described."""
from __future__ import annotations

import json
import os
import re
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from django.db import IntegrityError
from django.utils import timezone

from assets.catalog import local_time
from echofu import ownership, paths
from echofu.messages import localized, localized_all, localized_within, stored
from echofu.versioning import create_next_version
from engines.messages import Message, gettext_noop
from engines.talking_head import MODEL_TYPES, echolite_manifest
from monitoring import runner
from training.engines import get_engine
from training.models import TalkingHeadModel

NAME_PATTERN = re.compile(r"^[\w.-]{1,128}$")


def directory_stats(directory: Path) -> tuple[int, int]:
    size = count = 0
    for path in directory.rglob("*"):
        if path.is_file():
            size += path.stat().st_size
            count += 1
    return size, count


def register(model_type: str, name: str, built_dir: Path, job=None, **fields) -> TalkingHeadModel:
    """Move a finished model dir into the registry (atomic rename) and create its row; the model of a
    `job` only while that job is still its worker's (runner.holding_claim)."""
    target = paths.absolute(f"{paths.MODELS}/{model_type}/{name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"model directory {paths.public_path(paths.relative_to_media(target))} already exists")
    os.replace(built_dir, target)
    size, count = directory_stats(target)
    person = fields.pop("person", "")
    # The self-evaluation's verdict is a Message: kept as its template, it is read in each reader's language.
    fields["metrics"] = {key: stored(value) if isinstance(value, Message) else value for key, value in fields.get("metrics", {}).items()}
    try:
        with runner.holding_claim(job) if job is not None else nullcontext():
            return create_next_version(TalkingHeadModel, {"model_type": model_type, "person": person},
                                       name=name, size=size, file_count=count, job=job, **fields)
    except BaseException:  # no folder in the registry without its row
        # back into the job's folder, which the worker removes as the job ends; recovery may have removed it already
        built_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, built_dir)
        raise


def model_for_job(model_id: int) -> TalkingHeadModel:
    """The model a render or chat job was queued with. Its owner may delete it before a worker takes
    the job: the job then fails saying so, not with the ORM's "matching query does not exist"."""
    model = TalkingHeadModel.objects.filter(pk=model_id).first()
    if model is None:
        raise LookupError(gettext_noop("the talking-head model this job was to use was deleted before the job began; nothing was made"))
    return model


def find_model(model_param: str, model_type: str | None = None, user=None) -> TalkingHeadModel | None:
    """The registered model a form's `model_param` names (any accepted path spelling, or its bare name as
    /api/available-models lists it), when `user` owns it (any model, without a user)."""
    if "/" not in model_param:
        named = ownership.owned(TalkingHeadModel.objects.filter(name=model_param), user).first()
        if named is not None:
            model_param = f"{paths.MODELS}/{named.model_type}/{named.name}"
    try:
        relative = paths.resolve_request_path(model_param)
    except paths.PathRejected:
        return None
    parts = relative.split("/")
    if len(parts) != 3 or parts[0] != paths.MODELS:
        return None
    _, found_type, name = parts
    if model_type and found_type != model_type:
        return None
    model = TalkingHeadModel.objects.filter(model_type=found_type, name=name).first()
    if model is None:
        model = discover(found_type, name)
    if model is None or not ownership.owned(TalkingHeadModel.objects.filter(pk=model.pk), user).exists():
        return None
    return model if model.exists() else None


def discover(model_type: str, name: str) -> TalkingHeadModel | None:
    """Register a model directory copied in by hand, when its engine recognises it."""
    if model_type not in MODEL_TYPES or not NAME_PATTERN.match(name):
        return None
    directory = paths.absolute(f"{paths.MODELS}/{model_type}/{name}")
    if not directory.is_dir() or not get_engine(model_type).is_model_dir(directory):
        return None
    size, count = directory_stats(directory)
    known = TalkingHeadModel.objects.filter(model_type=model_type, name=name).first()
    if known is not None:
        return known
    try:
        return create_next_version(
            TalkingHeadModel, {"model_type": model_type, "person": name},
            name=name, source=TalkingHeadModel.Source.SCAN, size=size, file_count=count,
            metrics=_read_json(directory / "metrics.json"),
            created_at=datetime.fromtimestamp(directory.stat().st_mtime, tz=timezone.get_current_timezone()),
        )
    except IntegrityError:  # registered meanwhile by another scan
        return TalkingHeadModel.objects.filter(model_type=model_type, name=name).first()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _file_time(timestamp: float) -> str:
    return local_time(datetime.fromtimestamp(timestamp, tz=timezone.get_current_timezone()))


def file_entries(directory: Path) -> list[dict]:
    entries = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        stat = path.stat()
        entries.append(
            {
                "filename": path.name,
                "relative_path": paths.public_path(paths.relative_to_media(path)),
                "size": stat.st_size,
                "size_mb": round(stat.st_size / (1024 * 1024), 2),
                "file_type": path.suffix.lstrip(".").upper(),
                "created_time": _file_time(stat.st_ctime),
                "modified_time": _file_time(stat.st_mtime),
            }
        )
    return entries


def unusable_reason(model: TalkingHeadModel) -> Message | None:
    """Why this release cannot render `model`, known from its manifest without loading the engine (torch):
    an EchoLite model trained in an earlier format; None when nothing is known against it."""
    if model.model_type != TalkingHeadModel.ModelType.ECHOLITE:
        return None
    return echolite_manifest.earlier_format(model.directory())


def model_summary(model: TalkingHeadModel) -> dict:
    unusable = unusable_reason(model)
    return {
        "name": model.name,
        "type": model.model_type,
        "path": model.public_dir,
        "model_files_count": model.file_count,
        "created_time": local_time(model.created_at),
        "description": f"{model.model_type} 模型 - 包含 {model.file_count} 个模型文件",
        "id": model.pk,
        "person": model.person,
        "version": model.version,
        "label": model.display_label,  # what users read; `name` is the folder, which forms send back
        "size_mb": round(model.size / (1024 * 1024), 2),
        "metrics": localized_within(model.metrics),
        "warnings": localized_all(model.warnings),
        "self_evaluation": self_evaluation(model.metrics),
        "usable": unusable is None,  # renders and chat turns refuse it up front
        "unusable_reason": None if unusable is None else localized(unusable),
    }


def self_evaluation(metrics: dict) -> dict | None:
    """The held-out lip-sync figures next to the plain loop of training frames, and what they mean."""
    if "lip_opening_r" not in metrics:
        return None
    figures = ("mouth_ssim", "mouth_psnr", "lmd", "lip_opening_r", "mouth_sharpness", "mouth_shimmer")
    return {
        "model": {key: metrics.get(key) for key in figures},
        "loop": {key: metrics.get(f"loop_{key}") for key in figures},
        "beats_loop": metrics.get("beats_loop"),
        "verdict": localized(metrics.get("verdict", "")),
        "audio_delay_frames": metrics.get("audio_delay_frames"),
        "audio_delay_found": metrics.get("audio_delay_found"),
        "audio_delay_basis": metrics.get("audio_delay_basis"),  # "loudness" or "speech content"; None before it was stored
    }


def details(directory: Path, summary: dict) -> dict:
    files = file_entries(directory)
    stat = directory.stat()
    total = sum(entry["size"] for entry in files)
    return {
        # A folder's own time where no row gives one (the type's root folder): the contract lists it.
        "created_time": _file_time(stat.st_ctime),
        **summary,
        "total_files": len(files),
        "total_size_mb": round(total / (1024 * 1024), 2),
        "modified_time": _file_time(stat.st_mtime),
        "files": files,
    }
