"""Bring files dropped into the media folders by hand into the catalog (and report vanished ones)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from assets import catalog, jobs
from assets.models import GeneratedAudio, ReferenceAudio, TrainingVideo
from echofu import paths
from echofu.stored_files import still_referenced
from echofu.uploads import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS, check_media_file
from engines import media
from engines.talking_head import MODEL_TYPES
from generation.models import GeneratedVideo
from training import registry
from training.models import TalkingHeadModel


@dataclass
class ScanReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why"
    missing: list[str] = field(default_factory=list)
    pruned: int = 0
    kept: dict[str, str] = field(default_factory=dict)  # missing entry -> why its row was not pruned


def _new_files(folder: str, extensions: tuple[str, ...], model) -> list[Path]:
    known = set(model.objects.values_list("file", flat=True))
    directory = paths.absolute(folder)
    found = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        relative = f"{folder}/{path.name}"
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in extensions and relative not in known \
                and not still_referenced(relative):  # another row's file (a chat answer, a voice clip) is not a new upload
            found.append(path)
    return found


def _verified(path: Path, expect: str, report: ScanReport) -> media.MediaInfo | None:
    try:
        return check_media_file(path, expect)  # a file dropped in by hand passes the checks an upload does
    except media.MediaError as exc:
        report.skipped.append(f"{paths.public_path(paths.relative_to_media(path))}: {exc}")
        return None


def _scan_audio(report: ScanReport) -> None:
    for folder, model in ((paths.REF_VOICES, ReferenceAudio), (paths.RES_VOICES, GeneratedAudio)):
        for path in _new_files(folder, AUDIO_EXTENSIONS, model):
            info = _verified(path, "audio", report)
            if info is None:
                continue
            fields = {"file": f"{folder}/{path.name}", "original_name": path.name, "size": path.stat().st_size, "duration": info.duration}
            if model is ReferenceAudio:
                fields.update(codec=info.audio_codec, sample_rate=info.sample_rate, channels=info.channels, source=ReferenceAudio.Source.SCAN)
            else:
                fields.update(engine="scan")
            model.objects.create(**fields)
            report.added.append(paths.public_path(fields["file"]))


def _scan_videos(report: ScanReport, probe: bool) -> None:
    for path in _new_files(paths.REF_VIDEOS, VIDEO_EXTENSIONS, TrainingVideo):
        info = _verified(path, "video", report)
        if info is None:
            continue
        video = TrainingVideo.objects.create(
            file=f"{paths.REF_VIDEOS}/{path.name}", original_name=path.name, size=path.stat().st_size,
            source=ReferenceAudio.Source.SCAN, **catalog.video_fields(info),
        )
        if probe:
            jobs.start_probe(video)
        report.added.append(video.relative_path)
    for path in _new_files(paths.RES_VIDEOS, (".mp4",), GeneratedVideo):
        info = _verified(path, "video", report)
        if info is None:
            continue
        video = GeneratedVideo.objects.create(
            file=f"{paths.RES_VIDEOS}/{path.name}", original_name=path.name, size=path.stat().st_size,
            duration=info.duration, width=info.width, height=info.height,
        )
        report.added.append(video.relative_path)


def _scan_models(report: ScanReport) -> None:
    known = set(TalkingHeadModel.objects.values_list("model_type", "name"))
    for model_type in MODEL_TYPES:
        root = paths.absolute(f"{paths.MODELS}/{model_type}")
        for directory in sorted(root.iterdir()) if root.is_dir() else []:
            if not directory.is_dir() or (model_type, directory.name) in known:
                continue
            model = registry.discover(model_type, directory.name)
            if model is None:
                report.skipped.append(f"{paths.public_path(paths.relative_to_media(directory))}: not a complete {model_type} model")
            else:
                report.added.append(model.public_dir)


def _made_from(row) -> int:
    """How many models or speaker profiles were made from this upload (they go when it is deleted)."""
    if isinstance(row, TrainingVideo):
        return row.models.count()
    if isinstance(row, ReferenceAudio):
        return row.speakers.count()
    return 0


class NoneOfTheCatalogHere(Exception):
    """Pruning refused: the media folder holds none of the catalog, which reads as a wrong folder."""


def _missing(report: ScanReport, prune: bool) -> None:
    rows = [row for model in (ReferenceAudio, TrainingVideo, GeneratedAudio, GeneratedVideo, TalkingHeadModel) for row in model.objects.all()]
    gone = [row for row in rows if not row.exists()]
    if prune and gone and len(gone) == len(rows):
        # A wrong ECHOFU_MEDIA_ROOT or a volume not mounted yet looks exactly like every file removed;
        # pruning then would empty the catalog, consent statements included.
        raise NoneOfTheCatalogHere(
            f"none of the {len(rows)} catalogued files or models is in {settings.MEDIA_ROOT}: is ECHOFU_MEDIA_ROOT "
            "right and its volume mounted? nothing was pruned (if the files are really gone, delete their rows in the admin)")
    for row in gone:
        entry = f"{row._meta.verbose_name}: {row}"
        report.missing.append(entry)
        if not prune:
            continue
        made = _made_from(row)
        if made:
            # Its row holds the consent statement they rest on, and deleting it deletes them with
            # their files: an upload removed from disk to save space must not take its models along.
            report.kept[entry] = f"row kept: {made} model(s) or voice(s) made from it rest on its consent statement"
        else:
            row.delete()
            report.pruned += 1


def scan_media(probe: bool = True, prune: bool = False) -> ScanReport:
    paths.ensure_media_tree()
    report = ScanReport()
    _scan_audio(report)
    _scan_videos(report, probe)
    _scan_models(report)
    _missing(report, prune)
    return report
