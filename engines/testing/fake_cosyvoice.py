"""A local stand-in for CosyVoice's FastAPI server (runtime/python/fastapi/server.py), failures included.

What the real server does, and so this one:
- GET or POST multipart forms on /inference_sft, _zero_shot, _cross_lingual, _instruct2;
  a missing field gets FastAPI's 422 JSON before any work.
- The answer is a `StreamingResponse` over the model's generator: status 200 and the headers
  go out first, then raw int16 PCM in chunks (Transfer-Encoding: chunked, no Content-Length,
  no Content-Type), one chunk per piece the model yields.
- No header says the sample rate: the client must know its model's (22050 Hz for
  CosyVoice-300M, 24000 Hz for CosyVoice2-0.5B, the server's default model). `announce_rate`
  imitates the forks that send `X-Custom-Header-sampleRate`.
- A model error is raised inside the generator, after the 200 went out: uvicorn then drops the
  connection without the last chunk, and the client sees a truncated chunked body. The
  frontend's own `assert speech.shape[1] / 16000 <= 30` (prompts over 30 s) fails that way,
  and `fail_after_chunks` makes any answer fail so after that many chunks.
The speech is a voiced buzz whose length follows the text, so callers can check what they asked for.
"""
from __future__ import annotations

import io
import json
import threading
import wave
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs

import numpy as np

ENDPOINTS = {
    "/inference_sft": ("tts_text", "spk_id"),
    "/inference_zero_shot": ("tts_text", "prompt_text", "prompt_wav"),
    "/inference_cross_lingual": ("tts_text", "prompt_wav"),
    "/inference_instruct": ("tts_text", "spk_id", "instruct_text"),
    "/inference_instruct2": ("tts_text", "instruct_text", "prompt_wav"),
}
SECONDS_PER_CHARACTER = 0.08
CHUNK_SECONDS = 0.5  # the model yields speech in pieces; each becomes one chunk
MAX_PROMPT_SECONDS = 30  # cosyvoice/cli/frontend.py _extract_speech_token


def parse_form(content_type: str, body: bytes) -> dict[str, bytes | str]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {name: values[0] for name, values in parse_qs(body.decode("utf-8")).items()}
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes | str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


def wav_seconds(content: bytes) -> float:
    with wave.open(io.BytesIO(content)) as wav:
        return wav.getnframes() / wav.getframerate()


class FakeCosyVoice:
    def __init__(self, sample_rate: int = 24000, announce_rate: bool = False, fail_after_chunks: int | None = None):
        self.sample_rate = sample_rate
        self.announce_rate = announce_rate
        self.fail_after_chunks = fail_after_chunks
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # uvicorn's: chunked bodies

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/docs":
                    return self._answer(200, b"<html>docs</html>", "text/html")
                self._inference()

            def do_POST(self):
                self._inference()

            def _inference(self):
                required = ENDPOINTS.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if required is None:
                    return self._answer(404, b'{"detail":"Not Found"}', "application/json")
                fields = parse_form(self.headers.get("Content-Type", ""), body)
                missing = [name for name in required if name not in fields]
                if missing:
                    detail = [{"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None} for name in missing]
                    return self._answer(422, json.dumps({"detail": detail}).encode(), "application/json")
                server.requests.append((self.path, fields))
                self._stream(server.speech_chunks(str(fields["tts_text"]), fields.get("prompt_wav")))

            def _stream(self, chunks):
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                if server.announce_rate:
                    self.send_header("X-Custom-Header-sampleRate", str(server.sample_rate))
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                except Exception:
                    # uvicorn logs the traceback and closes the connection: no terminating chunk.
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")

            def _answer(self, code: int, content: bytes, content_type: str):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def speech(self, text: str) -> np.ndarray:
        seconds = max(0.3, SECONDS_PER_CHARACTER * len(text))
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        wave_ = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
        return (wave_ * 32767).astype("<i2")

    def speech_chunks(self, text: str, prompt_wav: bytes | None) -> Iterator[bytes]:
        """The model's generator: it runs only as the response is streamed."""
        if prompt_wav is not None and wav_seconds(prompt_wav) > MAX_PROMPT_SECONDS:
            raise AssertionError("do not support extract speech token for audio longer than 30s")
        samples = self.speech(text)
        step = int(CHUNK_SECONDS * self.sample_rate)
        for index, start in enumerate(range(0, len(samples), step)):
            if self.fail_after_chunks is not None and index >= self.fail_after_chunks:
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            yield samples[start:start + step].tobytes()

    def __enter__(self) -> "FakeCosyVoice":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
