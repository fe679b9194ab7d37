"""XTTS-v2 through coqui-tts (imports as TTS), from a local model directory.

The directory is what the XTTS-v2 release ships: config.json, model.pth, vocab.json (and
optionally speakers_xtts.pth). It is loaded the way coqui documents for direct use:
XttsConfig.load_json -> Xtts(config) -> load_checkpoint(checkpoint_dir=...), then
get_conditioning_latents on the speaker's cleaned clip and inference() per sentence.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress
from engines.text import Chunk, sentences as text_sentences
from engines.voice.speaker import SpeakerFeatures
from engines.voice.synthesis import SynthesisResult, require_cloning_request, speak_chunks, write_result

if TYPE_CHECKING:
    import torch
    from TTS.tts.models.xtts import Xtts

REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
PACKAGE, REQUIREMENT = "TTS", "coqui-tts"
LANGUAGES = {"zh": "zh-cn", "en": "en"}  # engines.text languages -> XTTS language codes
CHARACTER_LIMITS = {"zh": 82, "en": 250}  # XTTS's VoiceBpeTokenizer.char_limits for those codes
MAX_REFERENCE_SECONDS = 30  # get_conditioning_latents defaults: max_ref_length=30,
GPT_CONDITION_SECONDS = 6  # gpt_cond_len=6, gpt_cond_chunk_len=6


class XttsSynthesizer:
    name = "xtts"

    def __init__(self, model_dir: str | Path | None, device: str = "cpu", temperature: float = 0.7):
        self.model_dir = Path(model_dir) if model_dir else None
        self.device = device
        self.temperature = temperature
        self._model = None

    def availability(self) -> tuple[bool, str]:
        if self.model_dir is None:
            return False, gettext_noop("XTTS-v2 model directory is not configured (set {setting})", setting="ECHOFU_XTTS_DIR")
        missing = [name for name in REQUIRED_FILES if not (self.model_dir / name).is_file()]
        if missing:
            return False, gettext_noop("XTTS-v2 model directory {directory} lacks {files}", directory=str(self.model_dir),
                                       files=", ".join(missing))
        if importlib.util.find_spec(PACKAGE) is None:  # located, not imported: importing it takes seconds
            return False, gettext_noop("XTTS-v2 needs the {package} package, which is not installed (pip install {package})",
                                       package=REQUIREMENT)
        return True, f"XTTS-v2 from {self.model_dir}"

    @property
    def model(self) -> Xtts:
        """Loaded on first use and kept: loading XTTS-v2 takes tens of seconds."""
        if self._model is None:
            usable, reason = self.availability()
            if not usable:
                raise FileNotFoundError(reason)
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts

            config = XttsConfig()
            config.load_json(str(self.model_dir / "config.json"))
            model = Xtts(config)
            model.load_checkpoint(config, checkpoint_dir=str(self.model_dir), use_deepspeed=False)
            model.to(self.device)
            model.eval()  # Xtts.eval returns nothing
            self._model = model
        return self._model

    @property
    def sample_rate(self) -> int:
        return int(self.model.args.output_sample_rate)

    def conditioning(self, clip: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
        """What get_conditioning_latents computes, from audio decoded by PyAV: its own loader needs
        torchcodec and a system FFmpeg, which the product does not require."""
        import torch

        rate = int(self.model.args.input_sample_rate)
        audio = torch.from_numpy(media.load_audio(clip, rate)[: rate * MAX_REFERENCE_SECONDS]).unsqueeze(0).to(self.device)
        embedding = self.model.get_speaker_embedding(audio, rate)
        latent = self.model.get_gpt_cond_latents(audio, rate, length=GPT_CONDITION_SECONDS, chunk_length=GPT_CONDITION_SECONDS)
        return latent, embedding

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult:
        require_cloning_request("XTTS-v2", speaker, pitch_semitones)
        started = time.monotonic()
        progress("load", 0.0, gettext_noop("loading XTTS-v2"))
        model = self.model
        progress("condition", 0.0)
        latent, embedding = self.conditioning(speaker.clean_clip)

        def speak_piece(text: str, language: str) -> np.ndarray:
            output = model.inference(text, LANGUAGES[language], latent, embedding, temperature=self.temperature)
            wav = output["wav"]
            return np.asarray(wav.cpu().numpy() if hasattr(wav, "cpu") else wav, dtype=np.float32).reshape(-1)

        def speak(chunk: Chunk) -> np.ndarray:
            # XTTS's tokenizer takes at most CHARACTER_LIMITS characters of a language at once (longer
            # input is cut off); its own splitter needs spaCy, so a longer chunk is split here.
            pieces = text_sentences(chunk.text, CHARACTER_LIMITS[chunk.language])
            return np.concatenate([speak_piece(piece, chunk.language) for piece in pieces])

        samples = speak_chunks(text, self.sample_rate, speak, progress)
        return write_result(samples, self.sample_rate, out_path, self.name, started)
