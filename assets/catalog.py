"""Storing uploads as catalog rows and describing rows in the legacy JSON shapes."""
from __future__ import annotations

import filecmp
import os
from datetime import datetime
from pathlib import Path
from stat import S_ISREG

from django.db import transaction
from django.utils import timezone

from assets.models import ConsentedMediaFile, MediaFile, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu import paths
from echofu.messages import localized, reason_of
from echofu.ownership import acting_user, numbered_with
from echofu.versioning import create_with_own_name
from echofu.uploads import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS, original_file_name, store_media_file, store_media_upload
from engines.messages import gettext_noop
from limits.checks import check_quota

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def local_time(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT) if moment else ""


def uploaded_before(model, upload, owner=None, consented: bool = False) -> MediaFile | None:
    """The row `owner`'s earlier upload of this same file became (_stored_before), which taking again
    stores nothing: looked for before the upload is weighed against its owner's quota."""
    return _stored_before(model, Path(upload.temporary_file_path()), upload.name, owner, consented)


def save_reference_audio(upload, owner=None, **consent) -> ReferenceAudio:
    """The row of an uploaded audio not found by `uploaded_before`: a new one, unless the same file sent at
    the same moment became one first (_stored_row)."""
    return _reference_audio_row(store_media_upload(upload, paths.REF_VOICES, "audio", AUDIO_EXTENSIONS), owner, **consent)


def import_reference_audio(source: Path, **consent) -> ReferenceAudio:
    """Copy a local file into the catalog (management commands), unless an earlier command did."""
    return _stored_before(ReferenceAudio, source, source.name, consented=bool(consent)) or _reference_audio_row(
        store_media_file(source, source.name, paths.REF_VOICES, "audio", AUDIO_EXTENSIONS, move=False), **consent)


def _stored_before(model, source: Path, name: str, owner=None, consented: bool = False) -> MediaFile | None:
    """The row an earlier upload (or command's import) of this same file, its name and bytes, by the
    same owner became, unless staff revoked its consent or, when this one is `consented` (comes with a
    statement), it has none (a row from before statements were asked for: the file is sent again with one
    to make it usable). A file sent again (a command run again after a failure, an upload repeated) was
    stored once more: the disk space taken again, listed twice, and trained as another person (clip_2 v1,
    not clip v2). Single-user mode's account takes the rows nobody owns (from before accounts) as its own,
    as it lists them (ownership.numbered_with)."""
    rows = _owned_by(model, owner).filter(source=ReferenceAudio.Source.UPLOAD, original_name=original_file_name(name), revoked_at=None)
    if consented:
        rows = rows.filter(consent_at__isnull=False).exclude(consent_wording="")
    return _holding(rows, source)


def revoked_before(model, upload, owner=None) -> MediaFile | None:
    """`owner`'s row whose consent staff revoked that holds this same file, under any name: sent again with a new
    statement, it became a new row, usable at once, and the revocation was undone."""
    return _holding(_owned_by(model, owner).exclude(revoked_at=None), Path(upload.temporary_file_path()))


def _owned_by(model, owner):
    return model.objects.filter(numbered_with(owner.pk if getattr(owner, "is_authenticated", False) else None))


def _holding(rows, source: Path) -> MediaFile | None:
    """The first of `rows` whose file has `source`'s bytes."""
    for row in rows.filter(size=source.stat().st_size):
        if row.exists() and filecmp.cmp(source, paths.absolute(row.file.name), shallow=False):
            return row
    return None


def _reference_audio_row(stored, owner=None, **consent) -> ReferenceAudio:
    return _stored_row(
        ReferenceAudio, stored, owner, consent,
        duration=stored.info.duration,
        codec=stored.info.audio_codec,
        sample_rate=stored.info.sample_rate,
        channels=stored.info.channels,
    )


def save_training_video(upload, owner=None, **consent) -> TrainingVideo:
    """save_reference_audio's twin for a training video."""
    return _training_video_row(store_media_upload(upload, paths.REF_VIDEOS, "video", VIDEO_EXTENSIONS), owner, **consent)


def import_training_video(source: Path, **consent) -> TrainingVideo:
    """Copy a local file into the catalog (management commands), unless an earlier command did."""
    return _stored_before(TrainingVideo, source, source.name, consented=bool(consent)) or _training_video_row(
        store_media_file(source, source.name, paths.REF_VIDEOS, "video", VIDEO_EXTENSIONS, move=False), **consent)


def _training_video_row(stored, owner=None, **consent) -> TrainingVideo:
    return _stored_row(TrainingVideo, stored, owner, consent, **video_fields(stored.info))


def _stored_row(model, stored, owner, consent: dict, **fields) -> MediaFile:
    """The catalog row of a file just stored, named after the uploaded file within its owner's rows, or
    no file: when the row cannot be made (the database locked past its timeout, a full disk) the upload
    is answered as failed, and a file left behind would be listed by nobody, counted in no quota, and
    catalogued by the next scan_media as a scanned file with no uploader and no consent statement.

    The same file sent twice at once passed both requests' `uploaded_before` and was stored twice, and two
    files sent at once both fitted in the quota that only one fitted in. Looking again, weighing the file
    against its owner's quota (limits.checks.QuotaExceeded, its copy removed) and creating the row is one
    step, the owner's requests taking turns (monitoring.repeats.take_turns; on SQLite the IMMEDIATE
    transaction holds the write lock): the second finds the first's row, takes it and removes its own
    copy, or counts the first's file in."""
    from monitoring.repeats import take_turns  # monitoring's runner imports the catalog through the job handlers

    owner_id = owner.pk if getattr(owner, "is_authenticated", False) else None
    stored_path = paths.absolute(stored.relative_path)
    try:
        with transaction.atomic():
            take_turns(acting_user(owner))
            earlier = _stored_before(model, stored_path, stored.original_name, owner, bool(consent))
            if earlier is not None:
                stored_path.unlink()
                return earlier
            check_quota(acting_user(owner), stored.size)
            return create_with_own_name(model, stored.stem, owner_id, file=stored.relative_path, original_name=stored.original_name,
                                        size=stored.size, **fields, **consent)
    except BaseException:
        stored_path.unlink(missing_ok=True)
        raise


def video_fields(info) -> dict:
    return {
        "duration": info.duration,
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "has_audio": info.has_audio,
    }


def file_info(asset: ConsentedMediaFile) -> dict:
    """The legacy file-info object, plus the row id, original name and the name its owner knows it by
    (FileNotFoundError when its file is gone)."""
    stat = os.stat(paths.absolute(asset.file.name)) if asset.file.name else None
    if stat is None or not S_ISREG(stat.st_mode):
        raise FileNotFoundError(asset.file.name)
    return {
        "id": asset.pk,
        "filename": asset.filename,
        "original_name": asset.original_name,
        "name": asset.display_name,
        "size": stat.st_size,
        "size_mb": round(stat.st_size / (1024 * 1024), 2),
        "created_time": local_time(asset.created_at),
        "modified_time": local_time(datetime.fromtimestamp(stat.st_mtime, tz=timezone.get_current_timezone())),
        "file_type": asset.file_type,
        "relative_path": asset.relative_path,
        "duration": asset.duration,
        "consent_revoked": asset.revoked,  # listed, so its owner sees why it can no longer be used
    }


def training_video_info(video: TrainingVideo) -> dict:
    info = file_info(video)
    info.update(
        width=video.width,
        height=video.height,
        fps=video.fps,
        has_audio=video.has_audio,
        probe_status=video.probe_status,
        probe=video.localized_probe(),
        probe_error=localized(video.kept_probe_error),
    )
    return info


def listed(queryset, describe) -> list[dict]:
    """describe(row) for the rows whose file is still on disk (files deleted by hand are not offered)."""
    described = []
    for row in queryset:
        try:
            described.append(describe(row))
        except FileNotFoundError:
            continue
    return described


def speaker_info(profile: SpeakerProfile, versions: list[SpeakerProfile]) -> dict:
    """A voice as /api/cloned-audios lists it: its newest version `profile`, and `versions`, each of its
    versions (the `versions` addition, which the voice page offers to delete one by one)."""
    return {
        "id": profile.speaker_id,
        "name": profile.speaker_id,
        "reference_audio": paths.public_path(profile.reference_path),
        "status": "已提取特征",
        **version_info(profile),
        "versions": [version_info(version) for version in versions],
    }


def version_info(profile: SpeakerProfile) -> dict:
    return {
        "version": profile.version,
        "created_at": local_time(profile.created_at),
        "f0_mean": profile.f0_mean,
        "duration": profile.duration,
        "clean_clip": paths.public_path(profile.clean_clip.name) if profile.clean_clip else "",
        "self_evaluation": profile.self_evaluation or None,  # None: cloned before clones were evaluated
    }


def voices(profiles) -> list[dict]:
    """speaker_info of every voice among `profiles`, newest first, with its versions newest first."""
    versions: dict[str, list[SpeakerProfile]] = {}
    for profile in profiles.order_by("-version", "-pk"):
        versions.setdefault(profile.speaker_id, []).append(profile)
    return [speaker_info(profile, versions[profile.speaker_id]) for profile in latest_speakers(profiles)]


def latest_speakers(profiles=None):
    """The newest version of every speaker id (among `profiles`, default all)."""
    seen, latest = set(), []
    for profile in (SpeakerProfile.objects.all() if profiles is None else profiles).order_by("-created_at", "-version", "-pk"):
        if profile.speaker_id not in seen:
            seen.add(profile.speaker_id)
            latest.append(profile)
    return latest


def recording_name(relative: str) -> str:
    """The name a catalogued recording goes by (its reference row's, unique within its owner's rows),
    else its file's: what a voice cloned from it is called unless the request names one."""
    reference = ReferenceAudio.objects.filter(file=relative).only("name", "file").first()
    return reference.display_name if reference else os.path.splitext(os.path.basename(relative))[0]


def find_catalog_audio(value: str, user=None) -> str:
    """Media-relative path of a catalogued audio (reference, generated or recording) that `user`
    owns (any, without a user); ValueError otherwise."""
    from assets.models import GeneratedAudio
    from echofu import ownership

    try:
        relative = paths.resolve_request_path(value, must_exist=False)
    except paths.PathRejected as exc:
        raise ValueError(gettext_noop("invalid audio path: {reason}", reason=reason_of(exc))) from exc
    known = (
        ownership.owned(ReferenceAudio.objects.filter(file=relative), user).exists()
        or ownership.owned(GeneratedAudio.objects.filter(file=relative), user).exists()
        or ownership.may_use_recording(relative, user)
    )
    if not known or not paths.absolute(relative).is_file():
        raise ValueError(gettext_noop("the audio is not in the library: upload the reference audio first"))
    return relative
