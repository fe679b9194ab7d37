"""Talking-head engines by model type: the embedded EchoLite and the external ER-NeRF / SyncTalk."""
from __future__ import annotations

from engines.messages import Message, gettext_noop
from engines.talking_head.base import ModelDamaged, QualityReport, RenderResult, TalkingHeadEngine, TrainParams, TrainResult

MODEL_TYPES = ("EchoLite", "ER-NeRF", "SyncTalk")
# Other spellings the original backend took for a type: its frontend's training page still sends "ER_NeRF".
MODEL_TYPE_ALIASES = {"ER_NeRF": "ER-NeRF", "ER NeRF": "ER-NeRF"}
# Whether a model type trains and renders on the CPU when its GPU is missing; read without
# importing the engines (the web process decides devices without loading torch).
CPU_FALLBACK = {"EchoLite": True, "ER-NeRF": False, "SyncTalk": False}

__all__ = ["CPU_FALLBACK", "MODEL_TYPES", "model_type_named", "unknown_model_type", "ModelDamaged", "create_engine", "QualityReport", "RenderResult", "TalkingHeadEngine", "TrainParams", "TrainResult"]


def model_type_named(name: str) -> str | None:
    """The model type `name` spells (an alias resolved), or None when it names none."""
    name = MODEL_TYPE_ALIASES.get(name, name)
    return name if name in MODEL_TYPES else None


def unknown_model_type(name: str) -> Message:
    return gettext_noop("unsupported model type '{name}', choose one of: {choices}", name=name, choices=", ".join(MODEL_TYPES))


def create_engine(model_type: str, **config: object) -> TalkingHeadEngine:
    """The engine for `model_type`; `config` carries the external engines' checkout settings."""
    if model_type == "EchoLite":
        from engines.talking_head.echolite import EchoLiteEngine

        return EchoLiteEngine(**config)
    if model_type == "ER-NeRF":
        from engines.talking_head.ernerf import ErNerfEngine

        return ErNerfEngine(**config)
    if model_type == "SyncTalk":
        from engines.talking_head.synctalk import SyncTalkEngine

        return SyncTalkEngine(**config)
    raise ValueError(f"unknown model type {model_type!r}; known: {', '.join(MODEL_TYPES)}")
