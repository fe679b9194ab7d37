"""How much of the distance to a real reference is its recording, not its voice: the default's speech
with and without the reference's room tone (engines/voice/room.py) laid under it, paired.

The references are compared as the app stores them (cleaned, but with the recording's noise during
speech), and the default speaks studio-clean. Each reference (8 s and more) is cloned as the app
clones it, the default engine speaks the three sentences per language of bench_voice_paired.TEXTS
once, and each output is scored as it is and with the reference's tone under it (measured on the
recording as uploaded, as cloning measures it; the same audio otherwise). Similarity under both encoders, WER/CER through the packaged Whisper,
and the reference's speech-to-floor ratio the tone is laid at.
Results: bench/results/voice_room.json. Run: .venv/bin/python bench/bench_voice_room.py [names]
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines import media  # noqa: E402
from engines.voice import create_synthesizer  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.room import RoomTone  # noqa: E402

STEPS = ("as_it_is", "room_tone")


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    synthesizer = create_synthesizer("default", speech_encoder=lambda: speech_encoder)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, language, speaker, clean, heard, segments, references in paired.cloned_references(work, encoders, transcriber,
                                                                                                     sys.argv[1:] or None):
            speaker.conversion = synthesizer.fit(speaker, clean, heard, segments, work / f"{name}.npz")
            tone = RoomTone.from_dict(speaker.room_tone)  # as cloning measured it
            for spoken, text in paired.TEXTS.items():
                result = synthesizer.synthesize(text, speaker, work / "speech.wav")
                speech = media.load_audio(result.path, SAMPLE_RATE)
                for step, samples in zip(STEPS, (speech, tone.under(speech, SAMPLE_RATE))):
                    row = {"reference": name, "reference_language": language, "language": spoken, "step": step,
                           "speech_to_floor_db": round(tone.speech_to_floor_db, 1),
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {step: paired.mean_scores([row for row in rows if row["step"] == step]) for step in STEPS}
    per_reference = {}
    for row in rows:
        per_reference.setdefault(row["reference"], {}).setdefault(row["step"], []).append(row)
    summary["per_reference_resemblyzer"] = {name: {step: paired.mean_scores(mine)["similarity_resemblyzer"] for step, mine in steps.items()}
                                            for name, steps in per_reference.items()}
    paired.save_results(bench_voice.RESULTS / "voice_room.json", summary, rows, texts=paired.TEXTS)


if __name__ == "__main__":
    main()
