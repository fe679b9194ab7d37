"""Did this studio make a file, and from what? The metadata record, the audio marker, the row."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from echofu import ownership, paths
from echofu.messages import reason_of
from engines import media, provenance
from provenance.models import ProvenanceRecord
from provenance.stamping import sha256_of


def _row_for(path: Path, record: provenance.Record | None) -> ProvenanceRecord | None:
    row = ProvenanceRecord.objects.filter(sha256=sha256_of(path)).first()
    if row is None and record is not None:
        row = ProvenanceRecord.objects.filter(request_id=record.request_id, kind=record.kind).first()
    return row


def describe_row(row: ProvenanceRecord) -> dict:
    return {
        "request_id": row.request_id,
        "kind": row.kind,
        "file": paths.public_path(row.file),
        "created_at": row.created_at.isoformat(),
        "model": str(row.model) if row.model else row.record.get("model_id", ""),
        "model_id": row.model_id,
        "voice": str(row.speaker) if row.speaker else row.record.get("voice_id", ""),
        "sources": row.sources,
        "owner": row.owner.get_username() if row.owner else "",
        "label": row.label,
        "marker": row.marker,
        "exact_copy": False,
    }


def verify_file(path: Path, request_or_user=None) -> dict:
    """The verdict for one file. Row details go only to its owner, staff and the operator (no user)."""
    record = provenance.read_record(path)
    try:
        # Reading the soundtrack opens the picture too, whose first frame is decoded: no larger than an upload's.
        with media.frame_sides_at_most(settings.ECHOFU["MAX_VIDEO_SIDE"]):
            marker = provenance.detect_marker_in_file(path, settings.ECHOFU["MARK_KEY"])
    except media.MediaError as exc:  # its message already says what is wrong with the file, kept translatable
        raise provenance.ProvenanceError(reason_of(exc)) from exc
    row = _row_for(path, record)
    made_here = bool(row is not None or marker.found or record is not None)
    result = {
        "made_here": made_here,
        "record": None if record is None else record.__dict__,
        "marker": marker.as_dict(),
        "provenance": None,
    }
    if row is not None:
        visible = request_or_user is None or ownership.is_staff(request_or_user) or ownership.owned(
            ProvenanceRecord.objects.filter(pk=row.pk), request_or_user).exists()
        if visible:
            details = describe_row(row)
            details["exact_copy"] = row.sha256 == sha256_of(path)
            result["provenance"] = details
        else:
            result["provenance"] = {"request_id": row.request_id, "kind": row.kind, "created_at": row.created_at.isoformat()}
    return result
