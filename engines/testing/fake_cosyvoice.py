"""A local stand-in for CosyVoice's FastAPI server: same endpoints, form fields and PCM answers.

Form fields missing get FastAPI's 422 JSON; the answer is raw int16 PCM at the model rate,
a voiced buzz whose length follows the text, so callers can check what they asked for.
"""
from __future__ import annotations

import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

ENDPOINTS = {
    "/inference_sft": ("tts_text", "spk_id"),
    "/inference_zero_shot": ("tts_text", "prompt_text", "prompt_wav"),
    "/inference_cross_lingual": ("tts_text", "prompt_wav"),
    "/inference_instruct2": ("tts_text", "instruct_text", "prompt_wav"),
}
SECONDS_PER_CHARACTER = 0.08


def parse_form(content_type: str, body: bytes) -> dict[str, bytes | str]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes | str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


class FakeCosyVoice:
    def __init__(self, sample_rate: int = 22050, announce_rate: bool = True):
        self.sample_rate = sample_rate
        self.announce_rate = announce_rate
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer(200 if self.path == "/docs" else 404, b"<html>docs</html>", "text/html")

            def do_POST(self):
                required = ENDPOINTS.get(self.path)
                if required is None:
                    return self._answer(404, b'{"detail":"Not Found"}', "application/json")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fields = parse_form(self.headers.get("Content-Type", ""), body)
                missing = [name for name in required if name not in fields]
                if missing:
                    detail = [{"type": "missing", "loc": ["body", name], "msg": "Field required"} for name in missing]
                    return self._answer(422, json.dumps({"detail": detail}).encode(), "application/json")
                server.requests.append((self.path, fields))
                self._answer(200, server.speech(str(fields["tts_text"])), "application/octet-stream")

            def _answer(self, code: int, content: bytes, content_type: str):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                if code == 200 and content_type == "application/octet-stream" and server.announce_rate:
                    self.send_header("X-Custom-Header-sampleRate", str(server.sample_rate))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def speech(self, text: str) -> bytes:
        seconds = max(0.3, SECONDS_PER_CHARACTER * len(text))
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        wave = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
        return (wave * 32767).astype("<i2").tobytes()

    def __enter__(self) -> "FakeCosyVoice":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
