"""Where files live under MEDIA_ROOT, how they are named in JSON, and how form paths resolve.

Paths returned in JSON are `media/<relative>`: the original frontend builds URLs as
'/' + path, and /media/ is served (with Range support) from MEDIA_ROOT. Paths sent back
in form fields may use that spelling, the legacy `static/...`, `EchOfU/static/...` and
`models/...` spellings, or an absolute path; all must land inside MEDIA_ROOT.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path, PurePosixPath

from django.conf import settings

from engines.messages import gettext_noop

REF_VOICES = "voices/ref_voices"
RES_VOICES = "voices/res_voices"
SPEAKERS = "voices/speakers"
REF_VIDEOS = "videos/ref_videos"
RES_VIDEOS = "videos/res_videos"
RECORDINGS = "audios"
MODELS = "models"
TMP = "tmp"

MEDIA_FOLDERS = (REF_VOICES, RES_VOICES, SPEAKERS, REF_VIDEOS, RES_VIDEOS, RECORDINGS, MODELS, TMP, f"{TMP}/uploads", f"{TMP}/jobs")
PUBLIC_PREFIX = "media/"
# Spellings of the original Flask backend, which kept everything under EchOfU/static/.
LEGACY_PREFIXES = ("EchOfU/static/", "static/", PUBLIC_PREFIX)


MAX_NAME_BYTES = 255  # longest file name Linux filesystems take


class PathRejected(ValueError):
    """A path from a request that does not name a file inside the media root."""


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def absolute(relative: str) -> Path:
    return media_root() / relative


def public_path(relative: str | os.PathLike) -> str:
    """The JSON spelling of a media-relative path."""
    return PUBLIC_PREFIX + PurePosixPath(relative).as_posix()


def relative_to_media(path: str | os.PathLike) -> str:
    return Path(path).resolve().relative_to(media_root()).as_posix()


def is_recording(relative: str) -> bool:
    """Whether a media-relative path is a browser recording (in any account's recordings folder)."""
    return relative.startswith(RECORDINGS + "/")


def ensure_media_tree() -> None:
    for folder in MEDIA_FOLDERS:
        absolute(folder).mkdir(parents=True, exist_ok=True)


def resolve_request_path(value: str, must_exist: bool = True) -> str:
    """Media-relative POSIX path for a path given in a form field, or PathRejected."""
    text = (value or "").strip()
    if not text:
        raise PathRejected(gettext_noop("path is empty"))
    if "\x00" in text or "\\" in text or len(text) > 1000:
        raise PathRejected(gettext_noop("path contains characters that are not allowed"))
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in text.split("/")):
        raise PathRejected(gettext_noop("a file or folder name in the path is too long"))
    root = media_root()
    if os.path.isabs(text) and _inside(Path(os.path.realpath(text)), root):
        candidate = Path(text)
    else:
        # URL-style spellings ("/media/...", "static/...") name files under the media root.
        text = text.lstrip("/")
        for prefix in LEGACY_PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        candidate = root / text
    # realpath resolves "..", and symlinks, so a link pointing out of the root is caught too.
    resolved = Path(os.path.realpath(candidate))
    if not _inside(resolved, root):
        raise PathRejected(gettext_noop("path is outside the media folder"))
    relative = resolved.relative_to(root).as_posix()
    if relative == "." or relative.split("/", 1)[0] == TMP:
        raise PathRejected(gettext_noop("path does not name a stored file"))
    if must_exist and not resolved.exists():
        raise PathRejected(gettext_noop("file does not exist"))
    return relative


def owned_path(relative: str) -> Path:
    """The absolute path of a file or folder that a catalog row stored as its own, for removing
    it with the row; PathRejected unless it is a plain media-relative path (no empty, '.' or '..'
    parts, so never the root or a model type's whole folder) that names itself, no symlink on
    the way out of the media root, and is not one of the tree's own folders."""
    parts = (relative or "").split("/")
    if any(part in ("", ".", "..") for part in parts) or "\x00" in relative or relative in MEDIA_FOLDERS:
        raise PathRejected(f"not a stored file or folder: {relative!r}")
    root = Path(os.path.realpath(media_root()))
    candidate = root.joinpath(*parts)
    if Path(os.path.realpath(candidate)) != candidate:
        raise PathRejected(f"leads through a symbolic link: {relative!r}")
    return candidate


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


# Free space under which a failed write is taken to have filled the media volume.
DISK_FULL_BYTES = 1024 * 1024


def filled_the_media_volume(exc: BaseException) -> bool:
    """Whether the failure `exc` came from a full disk: ENOSPC anywhere in its chain, or, since some
    libraries lose the errno (torch.save reports a short write as "unexpected pos ..."), under
    DISK_FULL_BYTES left on the media volume when it is asked, before the failed work is cleaned up."""
    cause: BaseException | None = exc
    while cause is not None:
        if (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or "No space left on device" in str(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    try:
        return shutil.disk_usage(settings.MEDIA_ROOT).free < DISK_FULL_BYTES
    except OSError:  # no media volume to ask
        return False
