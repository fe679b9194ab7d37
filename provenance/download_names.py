"""The name a rendered video downloads under: whose face, which model version, when it was made
(小明-v1-2026-12-07-1405.mp4), instead of its stored name. Its provenance row knows all three, for
a render and a chat answer alike; the stored file keeps its own name."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath

from django.utils import timezone

from provenance.models import ProvenanceRecord

# What Windows, macOS or Linux refuse in a file name (and control characters): a person named "A/B" still downloads.
NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def file_name_safe(text: str) -> str:
    """`text` with what file systems refuse, and invisible format characters (a right-to-left override
    can disguise the extension a file manager shows), replaced by "_"."""
    return "".join("_" if unicodedata.category(char) == "Cf" else char for char in NOT_IN_FILE_NAMES.sub("_", text))


def download_name(record: ProvenanceRecord) -> str:
    """`record`'s video named by its model's person (its folder's name when none is known), version and
    the server's local time it was made at."""
    model = record.model
    person = file_name_safe(model.person or model.name).strip(" .") or "_"
    made_at = timezone.localtime(record.created_at).strftime("%Y-%m-%d-%H%M")
    return f"{person}-v{model.version}-{made_at}{PurePosixPath(record.file).suffix}"


def download_names(files: Iterable[str]) -> dict[str, str]:
    """Media-relative file -> the name it downloads under: person-version-time for a video whose provenance
    names its model; its stored name for any other file (a video scanned from disk, or whose model was deleted)."""
    wanted = {file for file in files if file}
    names = {file: PurePosixPath(file).name for file in wanted}
    if wanted:
        records = (ProvenanceRecord.objects.filter(kind=ProvenanceRecord.Kind.VIDEO, file__in=wanted)
                   .select_related("model").order_by("created_at", "pk"))
        newest = {record.file: record for record in records}  # a path used again: its newest video's, not an older one's model
        names.update((file, download_name(record)) for file, record in newest.items() if record.model is not None)
    return names
