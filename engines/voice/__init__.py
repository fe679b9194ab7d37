"""The voice stack: speaker analysis and text-to-speech engines behind one interface."""
from engines.voice.speaker import SpeakerEncoder, SpeakerFeatures, analyse_reference, speaker_similarity
from engines.voice.synthesis import SynthesisResult, Synthesizer, create_synthesizer

__all__ = [
    "SpeakerEncoder", "SpeakerFeatures", "SynthesisResult", "Synthesizer",
    "analyse_reference", "create_synthesizer", "speaker_similarity",
]
