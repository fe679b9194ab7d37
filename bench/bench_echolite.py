"""EchoLite benchmark on real recordings, with the synthetic face as a regression check.

Default: for each real recording in RECORDINGS, train on its first 80 % and render its last 20 %
twice, from its own audio and from the same words spoken by the default TTS voice (and once from
another real speaker). The renders and the plain loop of training frames are compared with the
real frames by `evaluate.MouthComparison` (full frames, their own dlib landmarks: nothing of the
model's tracks or crops), next to what bounds a render over the looped frames (`loop_bounds`).
Saves bench/results/echolite_real.json.

`--synthetic` trains on a generated 60 s 512x512 face and renders 30 s (echolite.json);
`--conditions` trains one synthetic model per recording condition (echolite_conditions.json).
`--parts MODEL_DIR` renders with one model's parts switched on one at a time (echolite_render_parts.json).
`--delay-sweep` fits the mouth-shape regression alone with the sound shifted by each lag and scores
it on the model's own held-out frames and on the unseen tail (echolite_delay_sweep.json): which
shift a model should be trained with, against the one training finds, and the shift training finds
with the recordings' sound moved by -12..+12 frames more.
`--oracle` replays, for each real frame of the unseen tail, the training frame an oracle that sees that
frame would choose: by its mouth shape alone (what a perfect speech -> mouth predictor could pick,
blind to head pose), by its mouth landmarks in the aligned face (shape and head pose), by its mouth
image (echolite_oracle.json): which of the targets a render over the person's own frames could reach.
`--render-speed MODEL_DIR` times a 10 s render of real speech at 512x512, encoding included, with
the time per stage (echolite_render.json); a model trained at another size has its looped
background frames resized and its crop transforms scaled to match first.
Run: .venv/bin/python bench/bench_echolite.py [--epochs N]
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

import numpy as np  # noqa: E402

from engines import media, packaged_whisper, speech_states  # noqa: E402
from engines.talking_head import TrainParams, create_engine  # noqa: E402
from engines.talking_head.echolite import evaluate, features  # noqa: E402
from engines.testing.face_video import delayed, make_talking_face_video, write_speech_wav  # noqa: E402
from engines.voice.default import DefaultSynthesizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


class PeakMemory:
    """Highest resident memory of this process and its children, sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        process = psutil.Process()
        while not self._stop.wait(0.05):
            rss = process.memory_info().rss + sum(child.memory_info().rss for child in process.children(recursive=True))
            self.peak = max(self.peak, rss)

    def __enter__(self):
        self.peak = psutil.Process().memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def directory_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


CONDITIONS = {
    "calm": {"motion": 0.4, "light_drift": 0.05},
    "moving_head": {"motion": 2.0},
    "changing_light": {"light_drift": 0.35},
    "mandarin_speech": {"voice": "cmn"},
}


def conditions(seconds: float, size: int, device: str, output: Path) -> None:
    """Self-evaluation across recording conditions, so the figures do not describe one video only."""
    engine = create_engine("EchoLite")
    rows = {}
    for name, options in CONDITIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            video = make_talking_face_video(Path(tmp) / "person.mp4", seconds=seconds, size=size, seed=7, **options)
            started = time.monotonic()
            trained = engine.train(video, Path(tmp) / "train", TrainParams(device=device))
            metrics = trained.metrics
            rows[name] = {"options": options, "train_seconds": round(time.monotonic() - started, 1),
                          "warnings": trained.warnings,
                          **{key: metrics[key] for key in ("epochs", "mouth_psnr", "mouth_ssim", "lmd", "lip_opening_r", "loop_mouth_ssim",
                                                           "loop_lmd", "loop_lip_opening_r", "beats_loop", "sync_correlation",
                                                           "sync_offset_frames", "real_sync_correlation", "real_sync_offset_frames")}}
        print(name, rows[name])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"input": {"seconds": seconds, "size": size, "device": device}, "conditions": rows},
                                 indent=2, ensure_ascii=False))


DATA = Path(os.environ.get("ECHOFU_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
BENCH_DATA = Path(__file__).resolve().parent / "data"
RECORDINGS = [
    {"name": "obama_20s", "path": DATA / "real_face_obama_20s_450.mp4",
     "what": "20 s, 450x450, 25 fps: one man speaking English to camera (the AD-NeRF 'Obama' subject)",
     "source": "EDTalk repository (tanshuai0219/EDTalk), test_data/uncrop_Obama.mp4",
     "licence": "a US government work; the repository is Apache-2.0"},
    {"name": "congress_60s", "path": BENCH_DATA / "real_face_hdtf_congress_60s_256.mp4",
     "what": "60 s, 256x256, 25 fps: one man speaking English to camera (a member of the US House, apparently Rep. Ted Lieu, "
             "an HDTF clip: cropped to the face, its own audio)",
     "source": "EDTalk repository (tanshuai0219/EDTalk) @06a9a96, test_data/pose_source2.mp4 (sha256 fd624732...125c1d)",
     "licence": "Apache-2.0 (the repository's); a weekly address by a member of Congress, a US government work "
                "only if his office made it, which we cannot confirm"},
]
SPEED_SPEECH = "real_speech_en_60s.wav"  # MuseTalk data/audio/eng.wav, MIT: one speaker reading English
OTHER_SPEAKER = {"file": "real_speech_en_8s.wav", "source": "MuseTalk repository, data/audio/yongen.wav", "licence": "MIT"}
TRAIN_SHARE = 0.8
FPS = 25
DELAY_SEARCH = 15
ADDED_OFFSETS = (-12, -8, -4, 4, 8, 12)  # frames, so the recordings' own +0..+4 spans about the +-0.6 s corrected


def recording_frames(video: Path) -> tuple[list[np.ndarray], int]:
    """(the recording's frames, cut to even sides as H.264 needs them; index of the first test frame)."""
    frames = [frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2] for frame in media.iter_video_frames(video, fps=FPS)]
    return frames, int(len(frames) * TRAIN_SHARE)


def split_recording(video: Path, work: Path) -> tuple[Path, list[np.ndarray], np.ndarray, int]:
    """(training video of the first 80 %, real test frames, the whole audio, index of the first test frame)."""
    frames, split = recording_frames(video)
    audio = media.load_audio(video, features.SAMPLE_RATE)
    train = work / "train.mp4"
    samples = int(split / FPS * features.SAMPLE_RATE)
    height, width = frames[0].shape[:2]
    with media.VideoWriter(train, width, height, fps=FPS, audio=audio[:samples], audio_rate=features.SAMPLE_RATE, crf=16) as writer:
        for frame in frames[:split]:
            writer.write(frame)
    return train, frames[split:], audio, split


def loop_frames(train_video: Path, count: int) -> list[np.ndarray]:
    """The plain loop of training frames (forwards, then backwards), as a render without lip sync shows it."""
    frames = list(media.iter_video_frames(train_video, fps=FPS))
    cycle = frames + frames[-2:0:-1]
    return [cycle[index % len(cycle)] for index in range(count)]


def recording_delay(frames: list[np.ndarray], audio: np.ndarray, analyzer) -> tuple[int, dict]:
    """The recording's own audio delay, from this benchmark's landmarks on every frame and its bilabial
    closures: the lips close just before a word that starts with p, b or m, so the delay is the lag at
    which the lip opening just before those words' onsets (the packaged Whisper's word timestamps) is
    smallest. Independent of the engine, which reads the loudness and the speech states instead; the
    loudness peak found on these landmarks is reported beside it. Returns (frames, details)."""
    opening = evaluate.openings(frames, analyzer)
    energy = features.frame_energy(audio, len(frames), FPS)
    seen = ~np.isnan(opening)
    correlation, loudness_lag = evaluate.best_lag(opening[seen], energy[seen], DELAY_SEARCH)
    standard = (opening - np.nanmean(opening)) / np.nanstd(opening)
    onsets = [round(word.start * FPS) for word in transcribed_words(audio)
              if word.word.strip().lower()[:1] in ("p", "b", "m") and word.probability > 0.5]

    def before_onsets(lag: int) -> float:  # sound at frame f is made by the mouth at f - lag; closure one frame before
        return float(np.nanmean([standard[onset - lag - 1] for onset in onsets if 0 <= onset - lag - 1 < len(standard)]))

    closure_lag = min(range(-DELAY_SEARCH, DELAY_SEARCH + 1), key=before_onsets)
    return closure_lag, {"frames": closure_lag, "by": "bilabial closures", "closure_words": len(onsets),
                         "opening_before_them_sd": round(before_onsets(closure_lag), 2),
                         "loudness_frames": loudness_lag, "lip_speech_r": round(correlation, 3)}


def speech_sync(frames: list[np.ndarray], audio: np.ndarray, analyzer) -> dict:
    """Lip opening of a video against the loudness of the speech it plays: r at lag 0 and the best lag."""
    opening = evaluate.openings(frames, analyzer)
    energy = features.frame_energy(audio, len(frames), FPS)
    seen = ~np.isnan(opening)
    best, lag = evaluate.speech_correlation(opening[seen], energy[seen])
    return {"r_at_0": round(evaluate.lagged_correlation(opening[seen], energy[seen], 0), 3),
            "best_r": round(best, 3), "best_lag_frames": lag}


@functools.lru_cache(maxsize=1)
def whisper_model():
    """The packaged Whisper base, loaded once for all of a run's transcriptions."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(packaged_whisper.model_dir(speech_states.weights_cache(), "base")), device="cpu", compute_type="int8", cpu_threads=2)


def transcribed_segments(audio: np.ndarray, **options) -> list:
    segments, _ = whisper_model().transcribe(audio.astype(np.float32), language="en", **options)
    return list(segments)


def transcribe(audio: np.ndarray) -> str:
    return " ".join(segment.text.strip() for segment in transcribed_segments(audio))


def transcribed_words(audio: np.ndarray) -> list:
    return [word for segment in transcribed_segments(audio, word_timestamps=True) for word in segment.words]


def render_frames(engine, model_dir: Path, audio: np.ndarray, work: Path, name: str) -> tuple[list[np.ndarray], float, int]:
    wav = work / f"{name}.wav"
    media.write_wav(wav, audio, features.SAMPLE_RATE)
    started = time.monotonic()
    result = engine.render(model_dir, wav, work / f"{name}.mp4")
    seconds = time.monotonic() - started
    return list(media.iter_video_frames(work / f"{name}.mp4")), seconds, result.frames


def own_speech(audio: np.ndarray, split: int, delay: int, count: int) -> np.ndarray:
    """The tail's own speech, moved by the recording's delay so that render frame t stands for real frame t."""
    hop = features.SAMPLE_RATE // FPS
    own = audio[(split + delay) * hop: (split + delay + count) * hop]
    return np.pad(own, (0, max(0, count * hop - len(own))))


def speech_to_render(audio: np.ndarray, split: int, delay: int, count: int, work: Path) -> tuple[dict[str, np.ndarray], str]:
    """The audios the tail is rendered from: its own speech, moved by the recording's delay so render
    frame t stands for real frame t; the default TTS voice saying the same words, and all the words of
    the recording (a longer render, so its correlation is less noisy); another real speaker. Also
    returns the tail's words."""
    own = own_speech(audio, split, delay, count)
    text = transcribe(audio[split * features.SAMPLE_RATE // FPS:])
    spoken = {}
    for name, words in (("tts", text), ("tts_whole_clip", transcribe(audio))):
        DefaultSynthesizer().synthesize(words, None, work / f"{name}.wav")
        spoken[name] = media.load_audio(work / f"{name}.wav", features.SAMPLE_RATE)
    return {"own": own, **spoken, "other": media.load_audio(DATA / OTHER_SPEAKER["file"], features.SAMPLE_RATE)}, text


def loop_bounds(comparison: evaluate.MouthComparison, model_dir: Path, own_states: np.ndarray) -> dict:
    """What bounds a render over the training frames it plays, compared as the renders are: the real
    tail's own mouths pasted into those frames (a perfect mouth over their head pose and jaw) and
    into the plain loop, those frames without any mouth drawn, and the real frames shown two frames
    late (the issue's reference). (The model's mouths over the real tail frames, re-dubbing, are no
    longer a row: part of each drawn mouth is the frame's own, there the real answer.)"""
    from engines.face_tracking import fill_and_smooth
    from engines.talking_head.echolite import alignment, loop_path
    from engines.talking_head.echolite.model import MouthModel

    model = MouthModel.load(model_dir)
    real, count = comparison.real, len(comparison.real)
    tracks, _ = fill_and_smooth(comparison.real_points)
    transforms = alignment.crop_transforms(tracks, alignment.Template.from_dict(model.config["template"]))
    shapes = model.mouth_shapes(features.frame_windows(own_states, count, FPS))
    indices = model.plan(shapes)

    def pasted(played: np.ndarray) -> list[np.ndarray]:
        frames = list(model.backgrounds(played))
        for frame, matrix, real_frame, real_matrix in zip(frames, model.background.transforms[played], real, transforms):
            mouth = alignment.match_colour(alignment.crop(real_frame, real_matrix), alignment.crop(frame, matrix), model.band)
            alignment.paste(frame, mouth, matrix, model.soft_mask)
        return frames

    return {"played_frames_without_a_drawn_mouth": comparison.compare(list(model.backgrounds(indices))).as_dict(),
            "real_mouths_in_the_played_frames": comparison.compare(pasted(indices)).as_dict(),
            "real_mouths_in_the_plain_loop": comparison.compare(pasted(loop_path.plain_loop(len(model.frames), count))).as_dict(),
            "real_two_frames_late": comparison.compare(real[:2] + real[:-2]).as_dict()}


BLINK_SHARE = 0.6  # eyes open less than this share of their median openness are closed (EAR 0.18 of 0.30)


def blinks_per_minute(openness: np.ndarray) -> float:
    """Blinks (runs of closed eyes) per minute at FPS."""
    closed = openness < BLINK_SHARE * np.nanmedian(openness)
    onsets = int(np.sum(closed[1:] & ~closed[:-1]) + closed[0])
    return round(onsets / (len(openness) / FPS / 60), 1)


def plan_coverage(model_dir: Path, analyzer) -> dict:
    """How much of the training clip a minute of other speech plays (a long render must not replay one
    stretch), and how often the person blinks in it against the training clip itself."""
    from engines.face_tracking import eye_openness
    from engines.talking_head.echolite import loop_path
    from engines.talking_head.echolite.model import MouthModel

    model = MouthModel.load(model_dir)
    openness = np.array([eye_openness(points) if points is not None else np.nan for points in
                         evaluate.landmarks(model.backgrounds(np.arange(len(model.frames))), analyzer)])
    speech = media.load_audio(DATA / SPEED_SPEECH, features.SAMPLE_RATE)
    count = int(len(speech) / features.SAMPLE_RATE * FPS)
    shapes = model.mouth_shapes(features.frame_windows(features.encoder_states(speech), count, FPS))
    started = time.monotonic()
    played = model.plan(shapes)
    seconds = time.monotonic() - started
    frames = len(model.frames)

    def described(path: np.ndarray) -> dict:
        uses = np.bincount(path, minlength=frames)
        turns = int(np.sum(path[:-2] == path[2:]))
        mismatch = ((shapes - shapes.mean(1, keepdims=True)) - (model.background.mouths[path] - model.background.mouths[path].mean(1, keepdims=True))) ** 2
        return {"distinct_frames": int(np.count_nonzero(uses)), "most_shown": int(uses.max()), "turns_per_second": round(turns / (count / FPS), 2),
                "mouth_shape_mismatch_px2": round(float(mismatch.sum(-1).mean()), 3), "blinks_per_minute": blinks_per_minute(openness[path])}

    return {"speech": SPEED_SPEECH, "frames": count, "background_frames": frames, "planning_seconds": round(seconds, 3),
            "training_clip_blinks_per_minute": blinks_per_minute(openness),
            "planned": described(played), "plain_loop": described(loop_path.plain_loop(frames, count))}


def compare_renders(test_frames: list[np.ndarray], train_video: Path, renders: dict[str, list[np.ndarray]],
                    audios: dict[str, np.ndarray], text: str, analyzer, model_dir: Path, own_states: np.ndarray) -> dict:
    """The renders of `speech_to_render`'s audios against the real tail frames, the plain loop and `loop_bounds`."""
    count = len(test_frames)
    comparison = evaluate.MouthComparison(test_frames, analyzer)
    model = comparison.compare(renders["own"][:count])
    loop = comparison.compare(loop_frames(train_video, count))
    return {
        "own_audio": {"model": model.as_dict(), "loop": loop.as_dict(), **loop_bounds(comparison, model_dir, own_states)},
        "tts_same_words": {"text": text, "seconds": round(len(audios["tts"]) / features.SAMPLE_RATE, 2),
                           "render_lip_vs_speech": speech_sync(renders["tts"], audios["tts"], analyzer),
                           "real_video_lip_vs_own_speech": speech_sync(test_frames, audios["own"], analyzer)},
        **({"tts_whole_clip_words": {"seconds": round(len(audios["tts_whole_clip"]) / features.SAMPLE_RATE, 2),
                                      "render_lip_vs_speech": speech_sync(renders["tts_whole_clip"], audios["tts_whole_clip"], analyzer)}}
           if "tts_whole_clip" in renders else {}),
        "other_speaker": {**OTHER_SPEAKER, "render_lip_vs_speech": speech_sync(renders["other"], audios["other"], analyzer)},
        "targets": {"mouth_ssim_at_least_0.84": model.mouth_ssim >= 0.84, "mouth_psnr_at_least_28": model.mouth_psnr >= 28,
                    "lmd_at_most_7.5": model.lmd <= 7.5, "lip_opening_r_at_least_0.5": model.lip_opening_r >= 0.5,
                    "best_lag_within_1_frame": abs(model.lip_opening_lag) <= 1},
    }


def real_recording(recording: dict, engine, epochs: int | None, device: str, work: Path) -> dict:
    from engines.face_tracking import FaceAnalyzer

    analyzer = FaceAnalyzer()
    video = recording["path"]
    train_video, test_frames, audio, split = split_recording(video, work)
    all_frames = list(media.iter_video_frames(video, fps=FPS))
    delay, delay_details = recording_delay(all_frames, audio, analyzer)
    load_before = os.getloadavg()
    started = time.monotonic()
    with PeakMemory() as memory:
        trained = engine.train(train_video, work / "train", TrainParams(epochs=epochs, device=device))
    train_seconds = time.monotonic() - started
    load_after = os.getloadavg()

    audios, text = speech_to_render(audio, split, delay, len(test_frames), work)
    renders = {}
    for name, speech in audios.items():
        renders[name], seconds, frames = render_frames(engine, trained.model_dir, speech, work, name)
        if name == "own":  # the render the speed figures describe
            render_seconds, rendered_count, shown = seconds, frames, round(os.getloadavg()[0], 2)
    return {
        "file": recording["path"].name, **{key: recording[key] for key in ("what", "source", "licence")},
        "frames": len(all_frames), "train_frames": split, "test_frames": len(test_frames),
        "recording_audio_delay": delay_details,
        "model_audio_delay": {"frames": trained.metrics.get("audio_delay_frames"), "found": trained.metrics.get("audio_delay_found"),
                              "basis": trained.metrics.get("audio_delay_basis"),
                              "error_frames": None if trained.metrics.get("audio_delay_frames") is None
                              else trained.metrics["audio_delay_frames"] - delay},
        **compare_renders(test_frames, train_video, renders, audios, text, analyzer, trained.model_dir,
                          features.encoder_states(audios["own"])),
        "a_minute_of_other_speech": plan_coverage(trained.model_dir, analyzer),
        "training": {"epochs": trained.metrics.get("epochs"), "wall_seconds": round(train_seconds, 1),
                     "peak_memory_mb": round(memory.peak / 2**20), "load_average_before": load_before, "load_average_after": load_after},
        "render": {"frames": rendered_count, "wall_seconds": round(render_seconds, 2), "fps": round(rendered_count / render_seconds, 1),
                   "real_time_factor": round(render_seconds / (rendered_count / FPS), 3), "load_average": shown},
        "self_evaluation": {key: value for key, value in trained.metrics.items() if isinstance(value, (int, float, str, bool))},
    }


def real(epochs: int | None, device: str, output: Path, keep_models: Path | None = None, only: str | None = None) -> None:
    """`keep_models`: a folder to keep each recording's trained model in (for `--parts`); `only`: rerun that
    recording and keep the others' rows of `output` as they are."""
    import shutil

    engine = create_engine("EchoLite")
    rows = json.loads(output.read_text())["recordings"] if only and output.is_file() else {}
    for recording in RECORDINGS:
        if only and recording["name"] != only:
            continue
        if not recording["path"].is_file():
            raise SystemExit(f"{recording['path']} is missing: set ECHOFU_REAL_DATA to the folder of the real recordings")
        with tempfile.TemporaryDirectory() as tmp:
            rows[recording["name"]] = row = real_recording(recording, engine, epochs, device, Path(tmp))
            if keep_models is not None:
                shutil.copytree(Path(tmp) / "train" / "model", keep_models / recording["name"], dirs_exist_ok=True)
        print(recording["name"], json.dumps(row, indent=1))
    results = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": device,
                           "python": platform.python_version(), "torch": torch.__version__},
               "protocol": "train on the first 80 %, render the last 20 %; full-frame dlib 68 landmarks of each video; "
                           "LMD in 1/1000 of face width; lip-opening r at lag 0 after undoing the recording's own audio delay",
               "epochs": epochs or "default", "recordings": rows}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False))


def parts(model_dir: Path, output: Path) -> None:
    """How a render's parts add up, on one model of the first recording trained as `real` trains it
    (`--keep-models`): the painted mouth alone over the plain loop and over the planned frames, and
    the renders' mix with the frame's own mouth; own audio on the tail, the TTS voice saying all the
    recording's words, and the other real speaker."""
    from engines.face_tracking import FaceAnalyzer
    from engines.talking_head.echolite import loop_path
    from engines.talking_head.echolite.model import PAINTED_SHARE, MouthModel

    recording, analyzer = RECORDINGS[0], FaceAnalyzer()
    with tempfile.TemporaryDirectory() as tmp:
        _, test_frames, audio, split = split_recording(recording["path"], Path(tmp))
        delay, _ = recording_delay(list(media.iter_video_frames(recording["path"], fps=FPS)), audio, analyzer)
        audios, _ = speech_to_render(audio, split, delay, len(test_frames), Path(tmp))
    model = MouthModel.load(model_dir)
    comparison = evaluate.MouthComparison(test_frames, analyzer)
    shapes = {name: model.mouth_shapes(features.frame_windows(features.encoder_states(audios[name]), count, FPS))
              for name, count in (("own", len(test_frames)), ("tts_whole_clip", int(len(audios["tts_whole_clip"]) / features.SAMPLE_RATE * FPS)),
                                  ("other", int(len(audios["other"]) / features.SAMPLE_RATE * FPS)))}
    rows = {}
    for label, share, planned in (("painted mouth over the plain loop", 1.0, False), ("painted mouth over the planned frames", 1.0, True),
                                  (f"renders: {PAINTED_SHARE} painted, the rest the frame's own mouth, planned frames", PAINTED_SHARE, True)):
        model.painted_share = share

        def frames(name: str) -> list[np.ndarray]:
            wanted = shapes[name]
            return model.drawn(model.plan(wanted) if planned else loop_path.plain_loop(len(model.frames), len(wanted)), wanted)

        rows[label] = {"own_audio": comparison.compare(frames("own")).as_dict(),
                       "tts_whole_clip_lip_vs_speech": speech_sync(frames("tts_whole_clip"), audios["tts_whole_clip"], analyzer),
                       "other_speaker_lip_vs_speech": speech_sync(frames("other"), audios["other"], analyzer)}
        print(label, json.dumps(rows[label]), flush=True)
    output.write_text(json.dumps({"recording": recording["path"].name, "model": json.loads((model_dir / "metrics.json").read_text()),
                                  "protocol": "as echolite_real.json, one model, its parts switched on one at a time", "rows": rows}, indent=2))


def delay_sweep(output: Path, lags: range = range(-3, 8)) -> None:
    """For each real recording: the speech -> mouth-shape regression (as training fits it, without the
    painter) trained with the sound shifted by each lag, scored by its own validation (the last 15 % of
    the frames it is fitted on, as training scores it) and by how its inner-lip opening follows the real
    unseen tail's (in crop space, the tail's audio moved by the recording's bilabial-closure delay), next
    to the shift that training finds and the content fit it finds it from; and the shift training finds
    once the recording's sound is moved by each of ADDED_OFFSETS frames more (what it must correct)."""
    from engines.face_tracking import FaceAnalyzer, fill_and_smooth
    from engines.progress import no_progress
    from engines.talking_head.echolite import alignment, fit_mouth_shape, sync
    from engines.talking_head.echolite.model import normalise
    from engines.talking_head.echolite.mouth_shape import crop_space_mouths, inner_opening
    from engines.talking_head.echolite.prepare import audio_delay, track_faces, training_frame_count

    analyzer, rows = FaceAnalyzer(), {}
    for recording in RECORDINGS:
        with tempfile.TemporaryDirectory() as tmp:
            train_video, test_frames, audio, split = split_recording(recording["path"], Path(tmp))
            tracks, found = track_faces(train_video, split, no_progress)
            train_audio = media.load_audio(train_video, features.SAMPLE_RATE)  # as training hears it (re-encoded)
        delay, delay_details = recording_delay(list(media.iter_video_frames(recording["path"], fps=FPS)), audio, analyzer)
        template = alignment.Template.fit(tracks[found])
        transforms = alignment.crop_transforms(tracks, template)
        shapes = crop_space_mouths(tracks, transforms)
        holdout = training_frame_count(len(tracks))
        hop, count = features.SAMPLE_RATE // FPS, len(test_frames)
        states = features.encoder_states(train_audio)
        found_delay = audio_delay(tracks[:holdout], found[:holdout], transforms[:holdout], train_audio, states)
        fit = sync.content_fit(states, shapes[:holdout][found[:holdout]], np.flatnonzero(found[:holdout]), FPS)
        added = {}
        for offset in ADDED_OFFSETS:
            moved = delayed(train_audio, offset * hop)
            again = audio_delay(tracks[:holdout], found[:holdout], transforms[:holdout], moved, features.encoder_states(moved))
            added[offset] = {"expected": found_delay.frames + offset, "found": again.frames, "basis": again.basis, "trusted": again.found}
        tail_tracks, _ = fill_and_smooth(evaluate.landmarks(test_frames, analyzer))
        tail_gap = inner_opening(crop_space_mouths(tail_tracks, alignment.crop_transforms(tail_tracks, template)))
        own = audio[(split + delay) * hop: (split + delay + count) * hop]
        tail_states = features.encoder_states(np.pad(own, (0, max(0, count * hop - len(own)))))
        by_lag = {}
        for lag in lags:
            predictor, mean, std = fit_mouth_shape(features.frame_windows(states, len(tracks), FPS, lag)[:holdout], shapes[:holdout])
            predicted = inner_opening(predictor.predict(normalise(features.frame_windows(tail_states, count, FPS), mean, std)))
            tail_r, tail_lag = evaluate.best_lag(tail_gap, predicted, 4)
            by_lag[lag] = {"validation_r": round(predictor.validation_r, 3),
                           "tail_r_at_0": round(evaluate.lagged_correlation(tail_gap, predicted, 0), 3),
                           "tail_best_r": round(tail_r, 3), "tail_best_lag": tail_lag}
        rows[recording["name"]] = {"file": recording["path"].name, "recording_audio_delay": delay_details,
                                   "found_by_training": found_delay.as_dict(),
                                   "found_with_the_sound_moved_later_by": added,
                                   "content_fit_peak": int(np.argmax(fit)) - sync.MAX_DELAY_FRAMES,
                                   "content_fit": {lag: round(float(fit[lag + sync.MAX_DELAY_FRAMES]), 3) for lag in lags},
                                   "shape_fit_by_training_lag": by_lag}
        print(recording["name"], json.dumps(rows[recording["name"]]), flush=True)
    output.write_text(json.dumps({"protocol": "train on the first 80 % (the shape fit on the frames training fits it on, validated on their last 15 %), "
                                              "tail = the last 20 %; inner-lip opening in crop space, dlib 68 landmarks; "
                                              "tail_best_lag > 0: the predicted mouth trails the real one",
                                  "recordings": rows}, indent=2))


def shape_distance(points: np.ndarray, target: np.ndarray) -> float:
    """Mean distance of two point sets after the similarity transform that best maps the first onto the second."""
    source, goal = points - points.mean(0), target - target.mean(0)
    u, spread, vt = np.linalg.svd(source.T @ goal)
    return float(np.linalg.norm(source @ (u @ vt) * (spread.sum() / (source**2).sum()) - goal, axis=1).mean())


def oracle(output: Path) -> None:
    """For each recording, the unseen tail replayed from its training frames as an oracle that sees each
    tail frame would choose them, compared as the renders are (`evaluate.MouthComparison`)."""
    from engines.face_tracking import FaceAnalyzer

    rows = {}
    for recording in RECORDINGS:
        analyzer = FaceAnalyzer()
        frames, split = recording_frames(recording["path"])
        train, tail = frames[:split], frames[split:]
        comparison = evaluate.MouthComparison(tail, analyzer)
        found = [(frame, points) for frame, points in zip(train, evaluate.landmarks(train, analyzer)) if points is not None]
        mouths = [comparison.aligned_mouth(frame, points) for frame, points in found]
        aligned, greys = np.stack([points for _, points in mouths]), [evaluate.grey(image) for image, _ in mouths]
        chosen: dict[str, list[np.ndarray]] = {"by_mouth_shape": [], "by_mouth_landmarks": [], "by_mouth_image": []}
        for real_mouth, real_grey in zip(comparison.real_mouths, comparison.real_greys):
            if real_mouth is None:  # not compared: any frame will do
                for picked in chosen.values():
                    picked.append(found[0][0])
                continue
            real = real_mouth[1]
            shape = [shape_distance(points, real) for points in aligned]
            chosen["by_mouth_shape"].append(found[int(np.argmin(shape))][0])
            chosen["by_mouth_landmarks"].append(found[int(np.argmin(np.linalg.norm(aligned - real, axis=2).mean(1)))][0])
            chosen["by_mouth_image"].append(found[int(np.argmax([evaluate.ssim(grey, real_grey) for grey in greys]))][0])
        rows[recording["name"]] = row = {
            "train_frames_with_a_face": len(found), "tail_frames": len(tail),
            **{name: comparison.compare(picked).as_dict() for name, picked in chosen.items()},
            "real_one_frame_late": comparison.compare(tail[:1] + tail[:-1]).as_dict(),
            "real_two_frames_late": comparison.compare(tail[:2] + tail[:-2]).as_dict()}
        print(recording["name"], json.dumps(row, indent=1))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"protocol": "each real tail frame replaced by one training frame (the first 80 %), chosen by an oracle "
                                              "that sees the tail frame; compared as bench_echolite.py compares renders",
                                  "recordings": rows}, indent=2))


def shape_bound(output: Path) -> None:
    """Which part of a render holds it back: the speech -> mouth-shape fit or the painter. One model per
    recording, trained as the benchmark trains it, draws the unseen tail twice over the frames it plans for
    the shapes: in the shapes its fit predicts from the tail's own speech (the benchmark's row), and in the
    shapes the real tail shows, read from its own landmarks (a perfect fit, this painter). Both are scored
    as renders are, beside the real tail's mouths pasted into those frames (a perfect painter too)."""
    from engines.face_tracking import FaceAnalyzer, fill_and_smooth
    from engines.talking_head.echolite import alignment
    from engines.talking_head.echolite.model import MouthModel
    from engines.talking_head.echolite.mouth_shape import crop_space_mouths

    engine, analyzer, results = create_engine("EchoLite"), FaceAnalyzer(), {}
    for recording in RECORDINGS:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            train_video, test_frames, audio, split = split_recording(recording["path"], work)
            count = len(test_frames)
            delay, _ = recording_delay(list(media.iter_video_frames(recording["path"], fps=FPS)), audio, analyzer)
            trained = engine.train(train_video, work / "train", TrainParams())
            model = MouthModel.load(trained.model_dir)
            comparison = evaluate.MouthComparison(test_frames, analyzer)
            tracks, _ = fill_and_smooth(comparison.real_points)
            real_shapes = crop_space_mouths(tracks, alignment.crop_transforms(tracks, alignment.Template.from_dict(model.config["template"])))
            states = features.encoder_states(own_speech(audio, split, delay, count))
            predicted = model.mouth_shapes(features.frame_windows(states, count, FPS))
            rows = {}
            for name, shapes in (("predicted_from_its_own_speech", predicted), ("the_real_tails_shapes", real_shapes)):
                rows[name] = comparison.compare(model.drawn(model.plan(shapes), shapes)).as_dict()
            bounds = loop_bounds(comparison, trained.model_dir, states)
            rows["real_mouths_in_the_played_frames"] = bounds["real_mouths_in_the_played_frames"]
            results[recording["name"]] = {"epochs": trained.metrics.get("epochs"), "delay": delay, "test_frames": count, **rows}
        for name, row in results[recording["name"]].items():
            if isinstance(row, dict):
                print(f"{recording['name']:<12} {name:<36} SSIM {row['mouth_ssim']:.3f} PSNR {row['mouth_psnr']:.1f} "
                      f"LMD {row['lmd']:.1f} r {row['lip_opening_r']:.2f} ({row['lip_opening_lag_frames']:+d})")
    output.write_text(json.dumps({"load_average": os.getloadavg(), "recordings": results}, indent=2))


def resized_model(model_dir: Path, size: int, work: Path) -> Path:
    """A copy of `model_dir` whose background frames are `size` x `size` (same network, same mouths)."""
    import shutil

    from engines.talking_head.echolite import model as model_files
    from engines.talking_head.echolite.prepare import BACKGROUND_FILE, JpegFrames, _jpeg

    config = json.loads((model_dir / model_files.MANIFEST).read_text())
    if (config["width"], config["height"]) == (size, size):
        return model_dir
    target = work / "resized"
    shutil.copytree(model_dir, target)
    scale_x, scale_y = config["width"] / size, config["height"] / size
    frames = JpegFrames.load(model_dir / BACKGROUND_FILE)
    JpegFrames([_jpeg(cv2.resize(frames[index], (size, size), interpolation=cv2.INTER_LINEAR))
                for index in range(len(frames))]).save(target / BACKGROUND_FILE)
    background = model_files.Background.load(model_dir / model_files.TRACKS)
    background.transforms[:, :, 0] *= scale_x  # frame -> crop matrices of the resized frames
    background.transforms[:, :, 1] *= scale_y
    background.save(target / model_files.TRACKS)
    config.update(width=size, height=size)
    (target / model_files.MANIFEST).write_text(json.dumps(config, indent=2))
    return target


def render_speed(model_dir: Path, size: int, seconds: float, repeats: int, output: Path) -> None:
    """Frames/s of the EchoLite render, encoding included, with the model and Whisper loaded once (as a worker keeps them)."""
    engine = create_engine("EchoLite")
    speech = media.load_audio(DATA / SPEED_SPEECH, features.SAMPLE_RATE)[: int(seconds * features.SAMPLE_RATE)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wav = work / "speech.wav"
        media.write_wav(wav, speech, features.SAMPLE_RATE)
        started = time.monotonic()
        model = engine.load(resized_model(model_dir, size, work))
        encoder = features.SpeechEncoder()
        load_seconds = time.monotonic() - started
        runs = []
        for attempt in range(repeats + 1):  # the first run warms the caches up and is not counted
            load_before = os.getloadavg()
            began, cpu_before = time.monotonic(), time.process_time()
            result = engine.render_loaded(model, wav, work / "out.mp4", encoder=encoder)
            wall, cpu = time.monotonic() - began, time.process_time() - cpu_before
            if attempt:
                # cpu: CPU seconds of this process (all threads); spread over 2 cores of its own, the render would take cpu / 2.
                runs.append({"wall_seconds": round(wall, 2), "fps": round(result.frames / wall, 1), "cpu_seconds": round(cpu, 2),
                             "fps_at_cpu_time_over_2_cores": round(result.frames / (cpu / 2), 1),
                             "stages_seconds": {key: round(value, 2) for key, value in result.timings.items()},
                             "load_average_before": [round(x, 2) for x in load_before],
                             "load_average_after": [round(x, 2) for x in os.getloadavg()]})
                print(runs[-1], flush=True)
        info = media.probe(work / "out.mp4")
    best = max(runs, key=lambda run: run["fps"])
    results = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                           "torch": torch.__version__},
               "model": {"dir": model_dir.name, "trained_size": json.loads((model_dir / "echolite.json").read_text())["width"],
                         "rendered_size": size, "self_evaluation": json.loads((model_dir / "metrics.json").read_text())},
               "audio": {"file": SPEED_SPEECH, "seconds": seconds},
               "output": {"frames": result.frames, "width": info.width, "height": info.height, "video_codec": info.video_codec,
                          "audio_codec": info.audio_codec},
               "load_seconds": round(load_seconds, 2), "runs": runs, "best_fps": best["fps"],
               "targets": {"at_least_2x_real_time": best["fps"] >= 2 * FPS}}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(json.dumps({key: results[key] for key in ("output", "best_fps", "targets")}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--render-seconds", type=float, default=30.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", default=None)
    parser.add_argument("--conditions", action="store_true", help="self-evaluation across recording conditions")
    parser.add_argument("--synthetic", action="store_true", help="the synthetic regression face instead of the real recordings")
    parser.add_argument("--epochs", type=int, default=None, help="real recordings: epochs (default: the engine's)")
    parser.add_argument("--render-speed", type=Path, default=None, metavar="MODEL_DIR", help="time renders with this trained model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=[recording["name"] for recording in RECORDINGS], default=None,
                        help="real recordings: rerun this one, keeping the other rows of the results")
    parser.add_argument("--keep-models", type=Path, default=None, metavar="DIR", help="real recordings: keep the trained models here")
    parser.add_argument("--parts", type=Path, default=None, metavar="MODEL_DIR",
                        help="how a render's parts add up, with a model that --keep-models kept (echolite_render_parts.json)")
    parser.add_argument("--oracle", action="store_true", help="the tail replayed from training frames an oracle chooses (echolite_oracle.json)")
    parser.add_argument("--shape-bound", action="store_true",
                        help="the tail drawn in its predicted and in its real shapes by one model (echolite_shape_bound.json)")
    parser.add_argument("--delay-sweep", action="store_true", help="the shape fit trained at each audio shift (echolite_delay_sweep.json)")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1) if args.device == "cpu" else torch.get_num_threads())
    if args.render_speed:
        render_speed(args.render_speed, args.size, 10.0 if args.render_seconds == 30.0 else args.render_seconds, args.repeats,
                     Path(args.output or RESULTS / "echolite_render.json"))
        return
    if args.oracle:
        oracle(Path(args.output or RESULTS / "echolite_oracle.json"))
        return
    if args.shape_bound:
        shape_bound(Path(args.output or RESULTS / "echolite_shape_bound.json"))
        return
    if args.delay_sweep:
        delay_sweep(Path(args.output or RESULTS / "echolite_delay_sweep.json"))
        return
    if args.parts:
        parts(args.parts, Path(args.output or RESULTS / "echolite_render_parts.json"))
        return
    if not (args.conditions or args.synthetic):
        real(args.epochs, args.device, Path(args.output or RESULTS / "echolite_real.json"), args.keep_models, args.only)
        return
    if args.conditions:
        conditions(args.seconds, args.size, args.device, Path(args.output or RESULTS / "echolite_conditions.json"))
        return
    args.output = args.output or str(RESULTS / "echolite.json")
    engine = create_engine("EchoLite")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = make_talking_face_video(work / "person.mp4", seconds=args.seconds, size=args.size, seed=42, motion=1.2)
        speech = write_speech_wav(work / "speech.wav", args.render_seconds, seed=77)
        started = time.monotonic()
        with PeakMemory() as memory:
            trained = engine.train(video, work / "train", TrainParams(device=args.device))
        train_seconds = time.monotonic() - started
        started = time.monotonic()
        rendered = engine.render(trained.model_dir, speech, work / "out.mp4", device=args.device)
        render_seconds = time.monotonic() - started
        model_bytes = directory_size(trained.model_dir)
    results = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": args.device,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "python": platform.python_version(), "torch": torch.__version__},
        "input": {"seconds": args.seconds, "size": args.size, "fps": 25},
        "training": {"wall_seconds": round(train_seconds, 1), "peak_memory_mb": round(memory.peak / 2**20),
                     "epochs": trained.metrics.get("epochs"), "frames": trained.metrics.get("train_frames")},
        "render": {"audio_seconds": args.render_seconds, "frames": rendered.frames, "wall_seconds": round(render_seconds, 2),
                   "fps": round(rendered.frames / render_seconds, 1), "real_time_factor": round(render_seconds / args.render_seconds, 3)},
        "self_evaluation": {key: value for key, value in trained.metrics.items() if isinstance(value, (int, float, str, bool))},
        "model_size_mb": round(model_bytes / 2**20, 2),
        "targets": {"training_under_5_min": train_seconds < 300, "peak_memory_under_3_gb": memory.peak < 3 * 2**30,
                    "render_at_least_25_fps": rendered.frames / render_seconds >= 25,
                    "sync_offset_within_1_frame": abs(trained.metrics["sync_offset_frames"]) <= 1},
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2))
    for section, values in results.items():
        if not isinstance(values, dict):
            print(f"{section:<30} {values}")
            continue
        print(f"{section}:")
        for key, value in values.items():
            print(f"  {key:<28} {value}")


if __name__ == "__main__":
    main()
