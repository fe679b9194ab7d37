"""Hand-built multipart/form-data bodies: well-formed for the tests that post to a real server, any shape for the fuzz test; a body posted as gunicorn hands on one sent in chunks."""
from __future__ import annotations

import io
import secrets


def encode(fields: dict[str, str], files: dict[str, tuple[str, bytes]], boundary: str | None = None) -> tuple[bytes, str]:
    boundary = boundary or "----echofu" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode("utf-8", "surrogatepass")
                     + value.encode("utf-8", "surrogatepass") + b"\r\n")
    for name, (filename, content) in files.items():
        header = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n")
        parts.append(header.encode("utf-8", "surrogatepass") + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_chunked(client, url: str, body: bytes | io.RawIOBase, content_type: str, **environ):
    """As gunicorn hands a body sent in chunks on to Django: decoded, with no Content-Length."""
    stream = io.BytesIO(body) if isinstance(body, bytes) else body
    return client.post(url, content_type=content_type, HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="",
                       **{"wsgi.input": stream, **environ})
