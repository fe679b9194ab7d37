"""The CosyVoice adapter against a fake of its FastAPI server that streams and fails as the real one does."""
from __future__ import annotations

import http.client
import urllib.request

import pytest

from engines import media
from engines.messages import Message
from engines.testing.fake_cosyvoice import SECONDS_PER_CHARACTER, FakeCosyVoice
from engines.testing.simple_media import write_tone_wav
from engines.voice.cosyvoice import CosyVoiceError, CosyVoiceSynthesizer, multipart
from engines.voice.speaker import SpeakerFeatures

TEXT = "Nice to meet you."  # one chunk, 17 characters


def speaker_from(clip) -> SpeakerFeatures:
    return SpeakerFeatures(embedding=[0.0], f0_mean=120.0, f0_std_semitones=2.0, f0_low=90.0, f0_high=160.0,
                           envelope=[0.0], duration=3.0, clean_clip=str(clip))


@pytest.fixture
def speaker(tmp_path):
    return speaker_from(write_tone_wav(tmp_path / "clean.wav", seconds=3.0))


def test_the_fake_streams_chunked_without_a_rate_and_breaks_off_as_uvicorn_does(tmp_path):
    """What the adapter has to cope with, shown on the raw protocol."""
    prompt = write_tone_wav(tmp_path / "p.wav", seconds=1.0).read_bytes()
    body, content_type = multipart({"tts_text": TEXT}, {"prompt_wav": ("p.wav", prompt)})
    with FakeCosyVoice(fail_after_chunks=1) as server:
        request = urllib.request.Request(f"{server.url}/inference_cross_lingual", data=body, headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and response.headers["Transfer-Encoding"] == "chunked"
            assert response.headers.get("X-Custom-Header-sampleRate") is None and response.headers.get("Content-Length") is None
            with pytest.raises(http.client.IncompleteRead) as cut:
                response.read()
    assert len(cut.value.partial) == 2 * int(0.5 * 24000), "one 0.5 s chunk arrived before the failure"


def test_without_a_rate_header_the_configured_model_rate_is_used_and_said(speaker, tmp_path):
    notes = []
    with FakeCosyVoice(sample_rate=24000) as server:
        result = CosyVoiceSynthesizer(server.url, sample_rate=24000).synthesize(
            TEXT, speaker, tmp_path / "out.wav", progress=lambda stage, fraction, message="": notes.append(message))
    assert media.probe(result.path).sample_rate == 24000
    assert result.duration == pytest.approx(SECONDS_PER_CHARACTER * len(TEXT), abs=0.01), "played at the speed it was spoken"
    [said] = [note for note in notes if "sent no sample rate: taking the configured 24000 Hz" in note]
    assert isinstance(said, Message), "our own line, translated where it is shown"


def test_an_announced_rate_wins_and_is_resampled_to_the_configured_one(speaker, tmp_path):
    with FakeCosyVoice(sample_rate=24000, announce_rate=True) as server:
        result = CosyVoiceSynthesizer(server.url, sample_rate=22050).synthesize(TEXT, speaker, tmp_path / "out.wav")
    assert media.probe(result.path).sample_rate == 22050
    assert result.duration == pytest.approx(SECONDS_PER_CHARACTER * len(TEXT), abs=0.01)


def test_a_model_error_after_the_200_is_a_clear_error_and_leaves_no_file(speaker, tmp_path):
    with FakeCosyVoice(fail_after_chunks=1) as server:
        synthesizer = CosyVoiceSynthesizer(server.url)
        with pytest.raises(CosyVoiceError, match=r"inference_cross_lingual broke off its answer after 24000 bytes: the model failed"):
            synthesizer.synthesize(TEXT, speaker, tmp_path / "out.wav")
    assert list(tmp_path.glob("out*")) == [] and list(tmp_path.glob(".out*")) == []


def test_a_prompt_over_30_s_fails_inside_the_stream_on_the_server_and_is_trimmed_by_the_adapter(tmp_path):
    long_clip = write_tone_wav(tmp_path / "long.wav", seconds=31.0)
    prompt = long_clip.read_bytes()
    body, content_type = multipart({"tts_text": TEXT}, {"prompt_wav": ("p.wav", prompt)})
    with FakeCosyVoice() as server:
        request = urllib.request.Request(f"{server.url}/inference_cross_lingual", data=body, headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=10) as response, pytest.raises(http.client.IncompleteRead):
            response.read()
        result = CosyVoiceSynthesizer(server.url).synthesize(TEXT, speaker_from(long_clip), tmp_path / "out.wav")
        sent = tmp_path / "sent.wav"
        sent.write_bytes(server.requests[-1][1]["prompt_wav"])
    assert media.probe(sent).duration == pytest.approx(30.0, abs=0.01) and result.duration > 1.0


def test_a_missing_form_field_is_fastapis_422_before_any_work(speaker, tmp_path):
    with FakeCosyVoice() as server:
        with pytest.raises(CosyVoiceError, match=r'inference_sft answered HTTP 422: .*"loc": \["body", "spk_id"\]'):
            CosyVoiceSynthesizer(server.url)._request("inference_sft", {"tts_text": "hi"}, b"")
        assert server.requests == []
