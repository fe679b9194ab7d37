"""File responses with HTTP Range support, so browsers can seek in videos and audio."""
from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

from echofu import responses
from engines.messages import gettext_noop

CHUNK = 256 * 1024
RANGE_PATTERN = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")  # longer numbers are no file's offsets
# What a quoted `filename="..."` cannot hold as it is (RFC 6266 quoted-string; many clients mishandle escapes).
NOT_IN_QUOTED_NAMES = re.compile(r'["\\\x00-\x1f\x7f]')
# What a file name cannot hold (provenance.download_names replaces them), which accents dropped can
# bring back: NFKD spells full-width forms in ASCII ("／" as "/", "：" as ":").
NOT_IN_FILE_NAMES = re.compile(r"[<>:/|?*]")
CHINESE_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")  # CJK ideographs


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end inclusive), None without a usable single range, False when unsatisfiable."""
    match = RANGE_PATTERN.match(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        length = int(last)
        if length == 0:
            return False
        start, end = max(size - length, 0), size - 1
    if start >= size or start > end:
        return False
    return start, end


def _chunks(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


def ascii_file_name(name: str) -> str:
    """`name` for a client that reads only `filename=` (curl -OJ, older browsers): Chinese characters in
    pinyin, each run one capitalised word (小明 -> Xiaoming), accents dropped (é -> e), each run of other
    characters that are not ASCII (or whose ASCII form a file name cannot hold: "／") one "_", quotes,
    backslashes and control characters removed; the extension kept."""
    suffix = PurePosixPath(name).suffix
    if not suffix.isascii() or NOT_IN_QUOTED_NAMES.search(suffix):
        suffix = ""
    pieces: list[str] = []
    for spelled in _ascii_spellings(name[: len(name) - len(suffix)]):
        if not spelled and not (pieces and pieces[-1] == "_"):
            pieces.append("_")
        elif spelled:
            pieces.append(NOT_IN_QUOTED_NAMES.sub("", spelled))
    return ("".join(pieces) or "_") + suffix


def _ascii_spellings(text: str):
    """Each character's ASCII spelling ("" where it has none), a run of Chinese characters as one word."""
    position = 0
    for run in CHINESE_RUN.finditer(text):
        yield from map(_ascii_spelling, text[position: run.start()])
        yield _pinyin_word(run.group())
        position = run.end()
    yield from map(_ascii_spelling, text[position:])


def _ascii_spelling(char: str) -> str:
    spelled = "".join(part for part in unicodedata.normalize("NFKD", char) if part.isascii())
    return "" if NOT_IN_FILE_NAMES.search(spelled) else spelled


def _pinyin_word(chinese: str) -> str:
    # Imported here, not with the module: it takes 0.2 s, and only downloads named in Chinese need it.
    from pypinyin import lazy_pinyin

    # The run read whole (重庆 is chong qing, not zhong qing); a character without a reading is left out.
    return "".join(lazy_pinyin(chinese, errors="ignore")).capitalize()


def attachment_disposition(name: str) -> str:
    """Content-Disposition for saving as `name` (RFC 6266): `filename="..."` always, for clients that
    ignore RFC 5987, followed by `filename*=utf-8''...` whenever that ASCII form is not the name itself."""
    fallback = ascii_file_name(name)
    header = f'attachment; filename="{fallback}"'
    return header if fallback == name else f"{header}; filename*=utf-8''{quote(name, safe='')}"


def serve_file(request, path: Path, attachment_name: str | None = None) -> HttpResponse:
    """`path`, or the byte range asked; with `attachment_name`, to be saved under that name
    (Content-Disposition: attachment, see `attachment_disposition`)."""
    stat = path.stat()
    size = stat.st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    wanted = _parse_range(request.headers.get("Range", ""), size) if request.headers.get("Range") else None
    if wanted is False:
        response = responses.error(gettext_noop("the requested byte range is outside the file ({size} bytes)", size=size), 416)
        response["Content-Range"] = f"bytes */{size}"  # RFC 9110 15.5.17: the size a client may retry within
        return response
    start, end = wanted if wanted else (0, size - 1)
    length = max(end - start + 1, 0)
    response = StreamingHttpResponse(_chunks(path, start, length), status=206 if wanted else 200, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = http_date(stat.st_mtime)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if attachment_name:
        response["Content-Disposition"] = attachment_disposition(attachment_name)
    return response
