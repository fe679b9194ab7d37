"""A randomly initialised whisper checkpoint, tiny but in the real file format load_model reads."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch


def write_tiny_whisper(path: Path, seed: int = 0) -> Path:
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(seed)
    # The real vocabulary and context sizes (the tokenizer and decoder depend on them), tiny widths.
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51865, n_text_ctx=448, n_text_state=32, n_text_head=2, n_text_layer=1)
    model = Whisper(dims)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path
