"""Chat test fixtures: a registered model, a loopback LLM provider, and a quick stand-in renderer.

The stand-in renderer keeps the talking-head engines' render contract (a real H.264 + AAC MP4 of
the audio's length, written to out_path only when complete) so the chat pipeline is tested in
seconds; the real EchoLite render has its own tests, and a chat turn through it is the browser test's
(echofu/tests/test_pages_browser.py).
"""
import math

import numpy as np
import pytest

from engines import media
from engines.talking_head.base import RenderResult
from engines.testing.fake_openai import FakeOpenAIServer
from training.models import TalkingHeadModel

FPS = 25


class QuickRenderer:
    model_type = "EchoLite"

    def __init__(self):
        self.calls = []

    def render(self, model_dir, audio_path, out_path, progress, device="cpu"):
        audio = media.load_audio(audio_path, 16000)
        frames = math.ceil(len(audio) / 16000 * FPS)
        self.calls.append(audio_path)
        with media.VideoWriter(out_path, 64, 48, fps=FPS, audio=audio, audio_rate=16000, comment=media.AI_GENERATED) as writer:
            for index in range(frames):
                writer.write(np.full((48, 64, 3), (index * 5) % 255, dtype=np.uint8))
        return RenderResult(out_path, frames, float(FPS), 64, 48, len(audio) / 16000)


class KeptRenderer(QuickRenderer):
    """The stand-in with an in-process engine's load / render_loaded pair, counting loads."""

    def __init__(self):
        super().__init__()
        self.loads, self.encoders = [], []

    def load(self, model_dir, device="cpu"):
        self.loads.append(model_dir)
        return {"model_dir": model_dir}

    def render_loaded(self, loaded, audio_path, out_path, progress, encoder=None, label=None):
        self.encoders.append(encoder)
        return self.render(loaded["model_dir"], audio_path, out_path, progress)  # unlabelled: publishing draws it


@pytest.fixture
def model(media_root):
    (media_root / "models/EchoLite/guide").mkdir(parents=True)
    return TalkingHeadModel.objects.create(model_type="EchoLite", name="guide")


@pytest.fixture
def renderer(monkeypatch):
    quick = QuickRenderer()
    monkeypatch.setattr("chat.pipeline.get_engine", lambda model_type: quick)
    return quick


@pytest.fixture
def kept_renderer(monkeypatch):
    from echofu import loaded_models

    loaded_models.clear()
    kept = KeptRenderer()
    monkeypatch.setattr("chat.pipeline.get_engine", lambda model_type: kept)
    yield kept
    loaded_models.clear()


@pytest.fixture
def llm_server(settings):
    with FakeOpenAIServer(reply="Welcome to the studio. I can answer your questions!") as server:
        settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"fake": {"base_url": server.base_url, "api_key": "k", "model": "guide"}},
                           "LLM_TIMEOUT_SECONDS": 2.0, "LLM_RETRIES": 0}
        yield server
