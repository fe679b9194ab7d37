"""Streaming uploads with a size limit enforced while the bytes arrive, and atomic storing.

The request body is never held in memory: Django writes file parts to a temp file in
chunks, this handler counts them and aborts as soon as the limit is passed.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.http.multipartparser import MultiPartParserError

from echofu import paths, responses
from echofu.messages import reason_of
from echofu.stored_files import still_referenced
from engines import media
from engines.messages import Message, gettext_noop

# Browsers' MediaRecorder writes .webm (or .ogg, .m4a) even for audio alone, so a reference recorded
# in a browser is one of those.
AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".webm", ".opus", ".aac")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".flv", ".webm")
# /save_audio converts whatever it gets, phones' video-container recordings too.
RECORDING_EXTENSIONS = AUDIO_EXTENSIONS + (".mp4", ".3gp")
WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"{name}{n}" for name in ("COM", "LPT") for n in range(10)}
UNIQUE_SUFFIX_BYTES = len("_") + 8  # the longest suffix claim_unique_path adds: _ and secrets.token_hex(4)
# Multipart framing and the other form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
CHUNKED_READ_BYTES = 64 * 1024
# An upload still streaming writes to its temp file all along, so one untouched this long has no request
# behind it any more (its web server was killed mid-upload).
ABANDONED_UPLOAD_SECONDS = 3600


class UploadRejected(ValueError):
    """The upload cannot be stored; the message is shown to the user."""


class UploadTooLarge(MultiPartParserError):
    pass


class LimitedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request, limit_bytes: int, fields_bytes: int = FORM_OVERHEAD_BYTES):
        super().__init__(request)
        self.limit_bytes = limit_bytes
        self.fields_bytes = fields_bytes
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit_bytes + self.fields_bytes:
            raise UploadTooLarge(self._message())
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit_bytes:
            self.file.close()  # a NamedTemporaryFile: closing removes the partial upload
            raise UploadTooLarge(self._message())
        with self._removed_on_write_failure():
            return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        with self._removed_on_write_failure():  # flushes the last buffered bytes
            return super().file_complete(file_size)

    @contextmanager
    def _removed_on_write_failure(self):
        """Django's parser leaves the file it was writing open when a write fails (a full disk): the
        partial upload stayed until the garbage collector found the request, keeping the disk full
        for every upload after it."""
        try:
            yield
        except OSError:
            self.file.close()
            raise

    def _message(self) -> str:
        return f"文件过大: 上限 {self.limit_bytes / (1024 * 1024):.0f} MB"


class BodyHead:
    """A request body's stream that keeps its first `keep_bytes`, where an upload's part headers are (after at
    most the form's fields): Django drops a part whose header is not UTF-8 without a word."""

    def __init__(self, stream, keep_bytes: int):
        self._stream = stream
        self._keep_bytes = keep_bytes
        self.head = bytearray()

    def _kept(self, data: bytes) -> bytes:
        if len(self.head) < self._keep_bytes:
            self.head += data[: self._keep_bytes - len(self.head)]
        return data

    def read(self, *args) -> bytes:
        return self._kept(self._stream.read(*args))

    def readline(self, *args) -> bytes:
        return self._kept(self._stream.readline(*args))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # close() once request.body is read, seekable


def limit_uploads(request, limit_bytes: int, fields_bytes: int = FORM_OVERHEAD_BYTES) -> None:
    """Must run before anything reads request.POST / request.FILES."""
    request.upload_handlers = [LimitedUploadHandler(request, limit_bytes, fields_bytes)]
    if request.content_type == "multipart/form-data":
        request._stream = BodyHead(request._stream, fields_bytes + 2048)


def part_header_not_utf8(request) -> bool:
    """Whether a part of the multipart body read so far has a Content-Disposition that is not UTF-8: curl on a
    Chinese Windows console sends a GBK file name, and Django then skips that part (no file) or, read in chunks,
    reports its headers as too long."""
    head = getattr(request._stream, "head", b"")
    for line in re.findall(rb"(?im)^content-disposition:[^\r\n]*", bytes(head)):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def form_fields_bytes() -> int:
    """The largest body of form fields a form endpoint reads: its longest field is a text of up to
    ECHOFU_TTS_MAX_CHARS characters, 4 bytes each at most in UTF-8, and each byte 3 characters once
    percent-encoded in a urlencoded body."""
    return FORM_OVERHEAD_BYTES + 4 * 3 * settings.ECHOFU["TTS_MAX_CHARS"]


class BodyRefused(ValueError):
    """A body sent in chunks that is not read: past the most any endpoint reads, or malformed."""

    def __init__(self, message: Message, status: int = 400):
        super().__init__(message)
        self.status = status


def largest_body_bytes(content_type: str) -> int:
    """The most any endpoint reads of a body: a video with the form around it, or a form of fields."""
    if content_type == "multipart/form-data":
        return max(settings.ECHOFU["MAX_VIDEO_BYTES"], settings.ECHOFU["MAX_AUDIO_BYTES"]) + FORM_OVERHEAD_BYTES
    return form_fields_bytes()


def form_too_large(limit_bytes: int) -> Message:
    return gettext_noop("the form is too large: at most {limit_kb} KB", limit_kb=limit_bytes // 1024)


def body_too_large(content_type: str, limit_bytes: int) -> BodyRefused:
    if content_type == "multipart/form-data":
        return BodyRefused(gettext_noop("the upload is larger than this server takes: at most {limit_mb} MB",
                                        limit_mb=round(limit_bytes / (1024 * 1024))))
    if content_type == "application/x-www-form-urlencoded":
        return BodyRefused(form_too_large(limit_bytes))
    return BodyRefused(not_a_form(content_type), 415)  # a file sent as the body itself (`curl -T file`)


def not_an_upload(field: str, content_type: str) -> Message:
    if not content_type:
        return gettext_noop("the request names no Content-Type: upload the file as multipart/form-data in the field '{field}' "
                            "(curl -F {field}=@file)", field=field)
    return gettext_noop("a file is read only from a multipart/form-data upload in the field '{field}' (curl -F {field}=@file), "
                        "not from {content_type}", field=field, content_type=content_type)


def not_a_form(content_type: str) -> Message:
    """Every endpoint reads its fields and files from a form: Django reads none from a body in another encoding."""
    if not content_type:
        return gettext_noop("the request names no Content-Type: send the form as application/x-www-form-urlencoded or multipart/form-data")
    return gettext_noop("the form's fields are read only from application/x-www-form-urlencoded or multipart/form-data, "
                        "not from {content_type}", content_type=content_type)


def read_chunked_body(request) -> IO[bytes]:
    """Django reads a body only as far as its Content-Length, so a body sent in chunks without one (clients that
    stream a file; gunicorn decodes the chunks) read as empty: an upload was answered 'no file'.
    The body is read into a temp file, no further than the most any endpoint reads, and handed on with its
    length, so the limits and checks that read the length see it as if it had been sent with one. The caller
    closes the file (which removes it) once the request is answered."""
    limit_bytes = largest_body_bytes(request.content_type)
    stream = request.environ["wsgi.input"]
    spooled = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)
    size = 0
    try:
        while True:
            try:
                chunk = stream.read(min(CHUNKED_READ_BYTES, limit_bytes + 1 - size))
            except OSError as exc:  # gunicorn's: a chunk cut short or malformed
                raise BodyRefused(responses.malformed_request(exc)) from exc
            if not chunk:
                break
            size += len(chunk)
            if size > limit_bytes:
                raise body_too_large(request.content_type, limit_bytes)
            spooled.write(chunk)
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    request.META["CONTENT_LENGTH"] = str(size)
    request._stream = LimitedStream(spooled, size)
    return spooled


def discard_abandoned_uploads() -> list[Path]:
    """Delete the temp files that web servers killed mid-upload left; no request will finish them."""
    cutoff = time.time() - ABANDONED_UPLOAD_SECONDS
    discarded = []
    for path in Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                discarded.append(path)
        except FileNotFoundError:  # another process discarded it first
            continue
    return discarded


def field_not_utf8(request) -> str | None:
    """The name of the first form field whose text was not sent in UTF-8, once the body is parsed. Django
    reads such a field without a word: a urlencoded body that is not UTF-8 as Latin-1 (GBK's 你好 became
    the text 'ÄãºÃ', spoken as that), a percent-encoded byte or a multipart field that is not, with U+FFFD
    for each undecodable byte (a consent name stored as '���'). A multipart field keeps no bytes to check,
    so there the U+FFFD that marks them is taken as the sign: no person's name or text to speak holds one."""
    if request.content_type == "application/x-www-form-urlencoded":
        for pair in filter(None, request.body.split(b"&")):
            name, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"=")[::2])
            try:
                name.decode("utf-8")
                value.decode("utf-8")
            except UnicodeDecodeError:
                return name.decode("utf-8", "replace")
        return None
    for name, values in request.POST.lists():
        if "\ufffd" in name or any("\ufffd" in value for value in values):
            return name
    return None


FILE_NAME_NOT_UTF8 = gettext_noop("the file name is not UTF-8 (GBK or Latin-1?); send the form encoded in UTF-8")


def not_utf8_message(field: str) -> Message:
    return gettext_noop("{field}: the text is not UTF-8; send the form encoded in UTF-8", field=field)


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def form_fields_only(view):
    """For form endpoints that take no file: a file part is refused as it arrives instead of being
    spooled to disk whole, and a body larger than any form of fields is refused before it is read."""
    @wraps(view)
    def fields_only(request, *args, **kwargs):
        if request.method == "POST":
            limit_bytes = form_fields_bytes()
            if int(request.META.get("CONTENT_LENGTH") or 0) > limit_bytes:  # any encoding, not only multipart
                return responses.error(form_too_large(limit_bytes), 400)
            if request.content_type not in FORM_CONTENT_TYPES and int(request.META.get("CONTENT_LENGTH") or 0):
                return responses.error(not_a_form(request.content_type), 415)  # (JSON, text): each field would be answered as missing
            limit_uploads(request, 0, limit_bytes)
            try:
                request.POST
            except UploadTooLarge:
                return responses.error(gettext_noop("this endpoint takes form fields, not files"), 400)
            except MultiPartParserError as exc:  # a multipart body without its boundary, for one
                return responses.error(responses.malformed_request(exc), 400)
            damaged = field_not_utf8(request)
            if damaged is not None:
                return responses.error(not_utf8_message(damaged), 400)
        return view(request, *args, **kwargs)

    return fields_only


def read_uploaded_file(request, field: str) -> UploadedFile:
    if request.content_type != "multipart/form-data" and int(request.META.get("CONTENT_LENGTH") or 0):
        # `curl --data-binary @voice.wav` (sent as urlencoded) or `-T`: it was answered that no file was sent, a 400 as
        # the contract's 没有文件 is, which this message says how to mend
        raise UploadRejected(not_an_upload(field, request.content_type))
    try:
        upload = request.FILES.get(field)
    # A cut-off body, or Django's parse limits (too many fields or files): the client's request, not our failure.
    except (MultiPartParserError, SuspiciousOperation) as exc:
        if not isinstance(exc, UploadTooLarge) and part_header_not_utf8(request):
            raise UploadRejected(FILE_NAME_NOT_UTF8) from exc
        raise UploadRejected(responses.malformed_request(exc)) from exc
    damaged = field_not_utf8(request)
    if damaged is not None:
        raise UploadRejected(not_utf8_message(damaged))
    if upload is None and part_header_not_utf8(request):
        raise UploadRejected(FILE_NAME_NOT_UTF8)
    if upload is None:
        raise UploadRejected(gettext_noop("no file: upload one in the field '{field}'", field=field))
    if not upload.name:
        raise UploadRejected(gettext_noop("no file was chosen"))
    if upload.size == 0:
        raise UploadRejected(gettext_noop("the file is empty"))
    return upload


def split_extension(name: str) -> tuple[str, str]:
    """(stem, extension) as os.path.splitext, but a name that is only an extension (".wav", as some
    recorders and scripts name a file) is that extension, where splitext reads it as a hidden file's stem."""
    stem, extension = os.path.splitext(name)
    if not extension and stem.startswith(".") and stem.count(".") == 1:
        return "", stem
    return stem, extension


def safe_filename(original: str, fallback_stem: str = "file") -> str:
    """A file name safe on any filesystem that keeps letters of any script (Chinese stays readable)."""
    name = unicodedata.normalize("NFC", PurePosixPath(original.replace("\\", "/")).name)
    stem, extension = split_extension(name)
    extension = re.sub(r"[^\w]+", "", extension.lower())[:10]
    suffix = f".{extension}" if extension else ""
    # 80 characters, and no more bytes than leave room for claim_unique_path's "_" + 8 hex digits in
    # a Linux file name: 80 characters outside the BMP (4 bytes each) made the upload fail with ENAMETOOLONG.
    budget = paths.MAX_NAME_BYTES - UNIQUE_SUFFIX_BYTES - len(suffix.encode())
    stem = re.sub(r"[^\w\-]+", "_", stem).strip("._-")[:80].encode()[:budget].decode("utf-8", "ignore") or fallback_stem
    if stem.upper() in WINDOWS_DEVICE_NAMES:  # CON.wav, NUL.mp4... cannot be opened on Windows shares
        stem += "_"
    return stem + suffix


def claim_unique_path(folder: Path, filename: str) -> Path:
    """Create an empty placeholder with a name no other request can take, and return it (a folder
    inside the media root). A name a catalog row still names is not free even when its file is gone
    (removed by hand, the row kept): a new file there would be that row's too, its owner's to list,
    download and use."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, extension = os.path.splitext(filename)
    candidates = [filename] + [f"{stem}_{n}{extension}" for n in range(2, 100)]
    candidates.append(f"{stem}_{secrets.token_hex(4)}{extension}")
    for candidate in candidates:
        path = folder / candidate
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        if not still_referenced(paths.relative_to_media(path)):
            return path
        path.unlink()
    raise UploadRejected("could not find a free file name")


@dataclass
class StoredUpload:
    relative_path: str
    filename: str
    original_name: str
    size: int
    info: media.MediaInfo
    stem: str  # the safe name's stem before claim_unique_path made it unique across the studio


def check_media_file(path: str | os.PathLike, expect: str) -> media.MediaInfo:
    """media.verify with the studio's frame size limit, which it checks before decoding a frame: an audio
    upload may be a video container too."""
    return media.verify(path, expect, max_frame_side=settings.ECHOFU["MAX_VIDEO_SIDE"])


def original_file_name(name: str) -> str:
    """The name a file is catalogued as having been sent as: a client's path dropped, in NFC."""
    return unicodedata.normalize("NFC", PurePosixPath(name.replace("\\", "/")).name)


def store_media_file(source: Path, original_name: str, folder: str, expect: str, extensions: tuple[str, ...], move: bool) -> StoredUpload:
    """Check extension and content, then move (or copy) `source` into `folder` under a unique name."""
    original_name = original_file_name(original_name)
    extension = split_extension(original_name)[1].lower()
    if extension not in extensions:
        raise UploadRejected(gettext_noop("unsupported file format '{extension}', supported: {supported}",
                                          extension=extension or gettext_noop("no extension"), supported=", ".join(extensions)))
    try:
        info = check_media_file(source, expect)
    except media.MediaError as exc:
        raise UploadRejected(gettext_noop("the file's content is not valid audio: {reason}", reason=reason_of(exc)) if expect == "audio"
                             else gettext_noop("the file's content is not a valid video: {reason}", reason=reason_of(exc))) from exc
    safe_name = safe_filename(original_name, expect)
    target = claim_unique_path(paths.absolute(folder), safe_name)
    # Copied beside the target, then renamed: readers never see a half-copied file.
    partial = target.with_name(f".{target.name}.partial")
    try:
        if move:
            os.replace(source, target)
        else:
            shutil.copyfile(source, partial)
            os.replace(partial, target)
    except BaseException:  # a full disk, or Ctrl-C in a command copying a large file: no placeholder or half copy stays
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return StoredUpload(
        relative_path=f"{folder}/{target.name}",
        filename=target.name,
        original_name=original_name,
        size=target.stat().st_size,
        info=info,
        stem=os.path.splitext(safe_name)[0],
    )


def store_media_upload(upload: UploadedFile, folder: str, expect: str, extensions: tuple[str, ...]) -> StoredUpload:
    return store_media_file(Path(upload.temporary_file_path()), upload.name, folder, expect, extensions, move=True)
