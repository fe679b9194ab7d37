"""CosyVoice through its FastAPI server (runtime/python/fastapi/server.py in FunAudioLLM/CosyVoice).

The server answers a multipart form with raw little-endian int16 PCM at the model's rate
(22050 Hz for CosyVoice-300M, 24000 Hz for CosyVoice2-0.5B, the server's default model). The
official server says nothing about the rate (some forks send `X-Custom-Header-sampleRate`),
so the configured rate is the model's unless a header says otherwise. A speaker's cleaned clip
is the prompt: with its transcript `/inference_zero_shot` (tts_text, prompt_text, prompt_wav),
without one `/inference_cross_lingual` (tts_text, prompt_wav).

The answer streams from the model's generator after the 200 has been sent, so a model error
shows up as a chunked body cut short (http.client.IncompleteRead), never as an HTTP status.
"""
from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress
from engines.text import Chunk
from engines.voice.speaker import SpeakerFeatures
from engines.voice.synthesis import SynthesisResult, require_cloning_request, speak_chunks, write_result

PROMPT_RATE = 16000  # server.py: load_wav(prompt_wav.file, 16000)
RATE_HEADER = "X-Custom-Header-sampleRate"
MAX_PROMPT_SECONDS = 30  # CosyVoice's frontend refuses prompts over 30 s
# The studio pages ask whether the server is there; a LAN host that is down must not hold them up.
AVAILABILITY_TIMEOUT_SECONDS = 2.0


class CosyVoiceError(RuntimeError):
    pass


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode("utf-8") + b"\r\n")
    for name, (filename, content) in files.items():
        header = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  "Content-Type: audio/wav\r\n\r\n")
        parts.append(header.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class CosyVoiceSynthesizer:
    name = "cosyvoice"

    def __init__(self, base_url: str, sample_rate: int = 24000, timeout: float = 300.0):
        self.base_url = (base_url or "").rstrip("/")
        self.sample_rate = sample_rate
        self.timeout = timeout

    def availability(self) -> tuple[bool, str]:
        if not self.base_url:
            return False, gettext_noop("CosyVoice server is not configured (set {setting}, e.g. {example})",
                                       setting="ECHOFU_COSYVOICE_URL", example="http://127.0.0.1:50000")
        try:
            # FastAPI answers /docs on every CosyVoice server; a 404 still proves someone listens.
            urllib.request.urlopen(f"{self.base_url}/docs", timeout=AVAILABILITY_TIMEOUT_SECONDS).close()
        except urllib.error.HTTPError:
            pass
        except (urllib.error.URLError, OSError) as exc:
            return False, gettext_noop("CosyVoice server at {url} does not answer: {error}", url=self.base_url,
                                       error=str(getattr(exc, 'reason', exc)))
        return True, gettext_noop("CosyVoice server at {url}", url=self.base_url)

    def _request(self, endpoint: str, fields: dict[str, str], prompt_wav: bytes) -> tuple[np.ndarray, int | None]:
        """The samples and the rate the server announced (None: it did not say)."""
        body, content_type = multipart(fields, {"prompt_wav": ("prompt.wav", prompt_wav)})
        request = urllib.request.Request(f"{self.base_url}/{endpoint}", data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                announced = response.headers.get(RATE_HEADER)
                try:
                    pcm = response.read()
                except http.client.IncompleteRead as exc:
                    raise CosyVoiceError(gettext_noop(
                        "CosyVoice {endpoint} broke off its answer after {received} bytes: the model failed while "
                        "speaking (the server's log holds the traceback; a prompt over 30 s is one cause)",
                        endpoint=endpoint, received=len(exc.partial))) from exc
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise CosyVoiceError(gettext_noop("CosyVoice {endpoint} answered HTTP {status}: {detail}", endpoint=endpoint, status=exc.code,
                                              detail=detail)) from exc
        except (TimeoutError, socket.timeout) as exc:
            raise CosyVoiceError(gettext_noop("CosyVoice {endpoint} did not finish within {seconds:.0f} s", endpoint=endpoint,
                                              seconds=self.timeout)) from exc
        except (http.client.HTTPException, ConnectionError) as exc:
            raise CosyVoiceError(gettext_noop("CosyVoice {endpoint} dropped the connection: {reason}", endpoint=endpoint, reason=repr(exc))) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise CosyVoiceError(gettext_noop("CosyVoice server at {url} is unreachable: {reason}", url=self.base_url,
                                              reason=str(getattr(exc, "reason", exc)))) from exc
        if len(pcm) < 2:
            raise CosyVoiceError(gettext_noop("CosyVoice {endpoint} returned no audio", endpoint=endpoint))
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        return samples, int(announced) if announced else None

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult:
        require_cloning_request("CosyVoice", speaker, pitch_semitones)
        if not self.base_url:
            raise CosyVoiceError(self.availability()[1])
        started = time.monotonic()
        prompt = media.load_audio(speaker.clean_clip, PROMPT_RATE)[: MAX_PROMPT_SECONDS * PROMPT_RATE]
        prompt_path = Path(out_path).with_name(f".{Path(out_path).name}.prompt.wav")
        try:
            media.write_wav(prompt_path, prompt, PROMPT_RATE)
            prompt_wav = prompt_path.read_bytes()
        finally:
            prompt_path.unlink(missing_ok=True)

        def speak(chunk: Chunk) -> np.ndarray:
            fields = {"tts_text": chunk.text}
            endpoint = "inference_cross_lingual"
            if speaker.prompt_text:
                fields["prompt_text"], endpoint = speaker.prompt_text, "inference_zero_shot"
            samples, rate = self._request(endpoint, fields, prompt_wav)
            if rate is None:
                if not assumed:
                    progress("synthesize", 0.0, gettext_noop("CosyVoice sent no sample rate: taking the configured {rate} Hz "
                                                             "({setting}; 22050 for CosyVoice-300M, 24000 for CosyVoice2)",
                                                             rate=self.sample_rate, setting="ECHOFU_COSYVOICE_SAMPLE_RATE"))
                    assumed.append(self.sample_rate)
                rate = self.sample_rate
            if rate != self.sample_rate:
                divisor = gcd(rate, self.sample_rate)
                samples = resample_poly(samples, self.sample_rate // divisor, rate // divisor).astype(np.float32)
            return samples

        assumed: list[int] = []
        samples = speak_chunks(text, self.sample_rate, speak, progress)
        return write_result(samples, self.sample_rate, out_path, self.name, started)
