"""The single place each generated file is finished: consent re-checked, provenance written, its row made.

generation/jobs.py calls `finish_video` and assets/speech.py calls `finish_audio` instead of
moving their temp output into place. A source whose consent was revoked while the job ran
stops it here, before anything is published.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError
from django.utils import translation

from assets import consent
from assets.models import GeneratedAudio, ReferenceAudio, TrainingVideo
from echofu import paths
from engines import provenance
from engines.messages import gettext_noop
from engines.progress import no_progress
from monitoring import runner
from provenance.models import ProvenanceRecord


LABEL_LANGUAGE = "label_language"  # a render or chat job's param: the language of the page that asked for it


def asked_label_language() -> dict:
    """The param that keeps, with a job a request queues, the request's language (the page's, which
    echofu.i18n activated): its label reads in it whichever language the worker runs in."""
    return {LABEL_LANGUAGE: translation.get_language() or settings.LANGUAGE_CODE}


def video_label(job, log=None) -> provenance.LabelText | None:
    """The label the job's videos carry: none where the deployment draws none (ECHOFU_VIDEO_LABEL); else
    "AI generated" in the language the job was asked in, drawn in ECHOFU_LABEL_FONT or a font fontconfig
    finds for it; in English where no font here draws it, which `log` (the job's log) is told. A job
    queued before jobs kept their language is labelled as it was then, in English."""
    if not settings.ECHOFU["VIDEO_LABEL"]:
        return None
    language = job.params.get(LABEL_LANGUAGE, "en")
    with translation.override(language):
        text = translation.gettext("AI generated")  # provenance.LABEL_TEXT, in the catalog
    label = provenance.label_text(text, settings.ECHOFU["LABEL_FONT"])
    if label is not None:
        return label
    if log is not None:
        log(gettext_noop("no font on this server draws the label \"{text}\": the video is labelled in English "
                         "(install a CJK font such as fonts-wqy-microhei, or set ECHOFU_LABEL_FONT)", text=text))
    return provenance.LabelText()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _asset(kind: str, asset) -> dict:
    return {"type": kind, "id": asset.pk, "path": paths.public_path(asset.file.name), "name": asset.display_name,
            "consent_name": asset.consent_name}


def _audio_sources(audio_path: str) -> list[dict]:
    """The driving audio, and when it is generated speech, the voice reference behind it."""
    sources = []
    reference = ReferenceAudio.objects.filter(file=audio_path).first()
    if reference is not None:
        sources.append(_asset("reference_audio", reference))
    generated = GeneratedAudio.objects.filter(file=audio_path).select_related("speaker__reference").first()
    if generated is not None:
        sources.append({"type": "generated_audio", "id": generated.pk, "path": paths.public_path(audio_path),
                        "name": f"speech {generated.job_id or generated.pk}"})
        if generated.speaker and generated.speaker.reference:
            sources.append(_asset("reference_audio", generated.speaker.reference))
    return sources


def _record_sources(sources: list[dict]) -> list[str]:
    """The sources as the record inside the file names them: anyone holding the file reads it, and a
    stored file name (`anna_3.wav`: the folder is shared by every account) tells of other accounts'
    uploads, so the owner's own names; the row keeps the paths for the owner and staff."""
    return [source["name"] for source in sources]


def _check_sources(sources: list[dict]) -> None:
    for source in sources:
        model = {"training_video": TrainingVideo, "reference_audio": ReferenceAudio}.get(source["type"])
        if model is not None and model.objects.filter(pk=source["id"], revoked_at__isnull=False).exists():
            raise consent.ConsentMissing(f"{source['path']} 的授权已被撤销: 不再生成")


@contextmanager
def _claimed(target: Path):
    """On failure, give back the empty placeholder claim_unique_path made for the output."""
    try:
        yield
    except BaseException:
        if target.exists() and target.stat().st_size == 0:
            target.unlink()
        raise


@contextmanager
def publishing(job, *targets: Path):
    """Published outputs and the rows that describe them are kept together or not at all. Yields
    `keep(*rows)`, which saves the rows (new ones inserted, loaded ones updated) in one transaction
    once the files are finished: the files are written outside it, since SQLite has one write lock
    for every process and labelling a long video takes minutes. That transaction is `job`'s claim
    (runner.holding_claim): a worker whose job was recovered meanwhile keeps nothing. When a row
    cannot be made (the model or voice deleted while it rendered, say) every row rolls back and the
    files go, instead of files no row owns; the job's error then names what was deleted, which the
    database words as a bare "FOREIGN KEY constraint failed"."""
    kept: list = []

    def keep(*rows):
        kept.extend(rows)
        with runner.holding_claim(job):
            for row in rows:
                row.save(force_insert=row._state.adding, force_update=not row._state.adding)
        return rows

    try:
        yield keep
    except BaseException as exc:
        for target in targets:
            target.unlink(missing_ok=True)
        gone = _deleted_meanwhile(kept) if isinstance(exc, IntegrityError) else None
        if gone is not None:
            raise LookupError(gettext_noop("{name} was deleted while this job used it; nothing was kept",
                                           name=getattr(gone, "display_label", str(gone)))) from exc
        raise


def _deleted_meanwhile(rows):
    """The first row that one of `rows` refers to and that no longer exists, or None."""
    for row in rows:
        for field in row._meta.concrete_fields:
            if field.many_to_one and field.is_cached(row):
                referred = field.get_cached_value(row)
                if referred is not None and not type(referred).objects.filter(pk=referred.pk).exists():
                    return referred
    return None


def _row(kind: str, target: Path, record: provenance.Record, job, model=None, speaker=None, sources=(), label=False) -> ProvenanceRecord:
    """The file's provenance row, not saved yet (see publishing)."""
    return ProvenanceRecord(
        request_id=record.request_id, kind=kind, file=paths.relative_to_media(target), sha256=sha256_of(target),
        model=model, speaker=speaker, sources=list(sources), record=json.loads(record.to_json()),
        label=label, marker=True, owner_id=getattr(job, "owner_id", None), job=job,
    )


def finish_video(temp_out: Path, target: Path, job, model, audio_path: str, progress=no_progress, *,
                 label: provenance.LabelText | None, labelled: bool = False, speaker=None) -> ProvenanceRecord:
    """Write the rendered video to `target` with its record, the job's `label` (its `video_label`, looked
    up once per job: each lookup may wait on fontconfig, and its log line must describe the label drawn;
    `labelled`: the frames carry it already) and the audio marker. `speaker`: the voice profile that spoke its
    audio, where no GeneratedAudio row of `audio_path` names it (chat's answers). Returns its provenance
    row unsaved: publishing's `keep` saves it with the caller's own rows."""
    with _claimed(target):
        return _finish_video(temp_out, target, job, model, audio_path, progress, label, labelled, speaker)


def _finish_video(temp_out, target, job, model, audio_path, progress, label, labelled, speaker) -> ProvenanceRecord:
    sources = []
    if model.source_video_id and model.source_video:
        sources.append(_asset("training_video", model.source_video))
    sources += _audio_sources(audio_path)
    generated = GeneratedAudio.objects.filter(file=audio_path).select_related("speaker").first()
    if generated is not None and generated.speaker is not None:
        speaker = generated.speaker
    elif speaker is not None and speaker.reference:
        sources.append(_asset("reference_audio", speaker.reference))
    _check_sources(sources)
    record = provenance.Record(
        kind="video", request_id=job.pk, model_id=str(model), voice_id=str(speaker) if speaker else "",
        sources=_record_sources(sources),
    )
    finished = temp_out.with_name(f"finished{temp_out.suffix}")
    provenance.finish_video(temp_out, finished, record, settings.ECHOFU["MARK_KEY"], label, progress, labelled)
    finished.replace(target)
    temp_out.unlink(missing_ok=True)
    return _row("video", target, record, job, model=model, speaker=speaker, sources=sources, label=label is not None)


def finish_audio(temp_out: Path, target: Path, job, profile) -> ProvenanceRecord:
    """Mark synthesised speech and write its record, then move it to `target`; its provenance row, unsaved (see finish_video)."""
    with _claimed(target):
        return _finish_audio(temp_out, target, job, profile)


def _finish_audio(temp_out, target, job, profile) -> ProvenanceRecord:
    sources = [_asset("reference_audio", profile.reference)] if profile is not None and profile.reference else []
    _check_sources(sources)
    record = provenance.Record(
        kind="audio", request_id=job.pk, voice_id=str(profile) if profile else "",
        sources=_record_sources(sources),
    )
    provenance.finish_audio(temp_out, record, settings.ECHOFU["MARK_KEY"])
    temp_out.replace(target)
    return _row("audio", target, record, job, speaker=profile, sources=sources)
