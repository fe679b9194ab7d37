"""A randomly initialised XTTS model directory in the release layout: config.json, model.pth, vocab.json.

The GPT is one narrow layer and the audio token budget is small, so loading and inference
run in seconds on a CPU; the HiFi-GAN decoder and speaker encoder keep their real shapes.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

SPECIAL_TOKENS = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]", "[zh-cn]"]
MAX_AUDIO_TOKENS = 40
TRAINING_TEXT = [
    "hello there this is a tiny voice model for tests",
    "ni3 hao3 jin1 tian1 tian1 qi4 hen3 hao3",
    "the quick brown fox jumps over the lazy dog 0123456789 .,!?'",
]


def write_vocab(path: Path) -> Path:
    """A byte-pair tokenizer file as tokenizers' Tokenizer.from_file reads it (XTTS's vocab.json)."""
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.trainers import BpeTrainer

    tokenizer = Tokenizer(BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.train_from_iterator(TRAINING_TEXT, BpeTrainer(vocab_size=256, special_tokens=SPECIAL_TOKENS))
    tokenizer.save(str(path))
    return path


def write_tiny_xtts(directory: Path, seed: int = 0) -> Path:
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory / "vocab.json")
    tokenizer = VoiceBpeTokenizer(vocab_file=str(vocab))

    config = XttsConfig()
    args = config.model_args
    args.gpt_layers, args.gpt_n_model_channels, args.gpt_n_heads = 1, 32, 2
    args.decoder_input_dim = 32
    args.gpt_max_audio_tokens = MAX_AUDIO_TOKENS
    args.gpt_number_text_tokens = tokenizer.get_number_tokens()
    args.gpt_start_text_token = tokenizer.tokenizer.token_to_id("[START]")
    args.gpt_stop_text_token = tokenizer.tokenizer.token_to_id("[STOP]")
    args.tokenizer_file = ""
    config.languages = ["en", "zh-cn"]

    torch.manual_seed(seed)
    model = Xtts(config)
    torch.save({"model": model.state_dict()}, directory / "model.pth")
    (directory / "config.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
    return directory
