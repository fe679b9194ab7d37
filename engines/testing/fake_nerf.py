"""Fake ER-NeRF / SyncTalk checkouts: the same command lines, output formats and files, no NeRF.

`make_fake_checkout(root, "ER-NeRF")` writes main.py, data_utils/process.py and the audio
feature scripts. They parse the real projects' arguments, print what the real ones print
(argparse Namespace, "[INFO] max_epoch = N", "==> Start Training Epoch E, lr=...", tqdm bars
in the Trainer's bar_format, "PSNR = ..."), and write the files the real ones write, where
they write them. Frames are really decoded from the video and a real (silent) video is
rendered at inference, so the adapter's file handling is exercised for real.

Environment knobs for tests: FAKE_NERF_STEP_SECONDS (sleep per training step, to cancel
mid-run), FAKE_NERF_FAIL_TASK (a process.py task that exits 0 but writes nothing, as the
real one does when a helper fails).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

COMMON = '''
import argparse, json, os, sys, time
import numpy as np
import cv2

def bar(prefix, done, total, started):
    elapsed = time.time() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else 0
    clock = lambda s: "%02d:%02d" % (int(s) // 60, int(s) % 60)
    percent = int(100 * done / total)
    sys.stderr.write("\\r%s %3d%% %d/%d [%s<%s, %.2fit/s]" % (prefix, percent, done, total, clock(elapsed), clock(left), rate))
    sys.stderr.flush()
'''

PROCESS = '''
TASKS = %(tasks)r

def frames_of(video):
    capture = cv2.VideoCapture(video)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        yield frame

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=str)
    parser.add_argument("--task", type=int, default=-1)
    parser.add_argument("--asr", type=str, default="deepspeech")
    opt = parser.parse_args()
    base = os.path.dirname(opt.path)
    name = TASKS[opt.task]
    print("[INFO] ===== %%s =====" %% name)
    if str(opt.task) == os.environ.get("FAKE_NERF_FAIL_TASK"):
        print("sh: 1: helper: not found")  # process.py uses os.system and exits 0 anyway
        return
    images = os.path.join(base, "ori_imgs")
    count = len([f for f in os.listdir(images) if f.endswith(".jpg")]) if os.path.isdir(images) else 0
    if name == "audio":
        import av
        with av.open(opt.path) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            pcm = b"".join(bytes(out.planes[0])[: out.samples * 2] for frame in container.decode(stream) for out in resampler.resample(frame))
        import wave
        with wave.open(os.path.join(base, "aud.wav"), "wb") as wav:
            wav.setnchannels(1); wav.setsampwidth(2); wav.setframerate(16000); wav.writeframes(pcm)
        if opt.asr in ("deepspeech", "hubert") and %(task1_features)r:
            seconds = len(pcm) / 32000
            suffix = "_ds" if opt.asr == "deepspeech" else "_hu"
            np.save(os.path.join(base, "aud%%s.npy" %% suffix), np.zeros((int(seconds * 25), 16, 29), np.float32))
    elif name == "images":
        os.makedirs(images, exist_ok=True)
        for index, frame in enumerate(frames_of(opt.path)):
            cv2.imwrite(os.path.join(images, "%%d.jpg" %% index), frame)
    elif name == "parsing":
        os.makedirs(os.path.join(base, "parsing"), exist_ok=True)
        started = time.time()
        for index in range(count):
            frame = cv2.imread(os.path.join(images, "%%d.jpg" %% index))
            cv2.imwrite(os.path.join(base, "parsing", "%%d.png" %% index), np.full_like(frame, 255))
            cv2.imwrite(os.path.join(base, "parsing", "%%d_face.png" %% index), np.full_like(frame, 255))
            bar("", index + 1, count, started)
    elif name == "background":
        cv2.imwrite(os.path.join(base, "bc.jpg"), cv2.imread(os.path.join(images, "0.jpg")))
    elif name == "torso":
        for folder in ("gt_imgs", "torso_imgs"):
            os.makedirs(os.path.join(base, folder), exist_ok=True)
        for index in range(count):
            frame = cv2.imread(os.path.join(images, "%%d.jpg" %% index))
            cv2.imwrite(os.path.join(base, "gt_imgs", "%%d.jpg" %% index), frame)
            cv2.imwrite(os.path.join(base, "torso_imgs", "%%d.png" %% index), np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)]))
    elif name == "landmarks":
        rng = np.random.default_rng(0)
        for index in range(count):
            points = rng.uniform(100, 400, (68, 2))
            openness = 6.0 if index %% 10 else 1.0  # a blink every 10 frames
            for eye in (slice(36, 42), slice(42, 48)):
                points[eye] = [[0, 0], [10, -openness], [20, -openness], [30, 0], [20, openness], [10, openness]]
            np.savetxt(os.path.join(images, "%%d.lms" %% index), points, "%%f")
    elif name == "tracking":
        for index in range(count):
            print("%%d of %%d done" %% (index + 1, count))
        with open(os.path.join(base, "track_params.pt"), "wb") as out:
            out.write(b"fake track params")
    elif name == "bundle":
        with open(os.path.join(base, "bundle_adjustment.pt"), "wb") as out:
            out.write(b"fake bundle adjustment")
    elif name == "blendshapes":
        np.save(os.path.join(base, "bs.npy"), np.zeros((count, 52), np.float32))
    elif name == "transforms":
        split = max(1, int(count * 10 / 11))
        frames = [{"img_id": index, "aud_id": index, "transform_matrix": np.eye(4).tolist()} for index in range(count)]
        for kind, part in (("train", frames[:split]), ("val", frames[split:])):
            with open(os.path.join(base, "transforms_%%s.json" %% kind), "w") as out:
                json.dump({"focal_len": 1200.0, "cx": 256.0, "cy": 256.0, "frames": part}, out)
    print("[INFO] ===== finished %%s =====" %% name)

main()
'''

FEATURES = '''
def main():
    parser = argparse.ArgumentParser()
    %(arguments)s
    opt = parser.parse_args()
    import wave
    with wave.open(opt.%(wav)s) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    frames = int(seconds * 25)
    started = time.time()
    for index in range(frames):
        bar("", index + 1, frames, started)
    np.save(%(output)s, np.zeros((frames, 16, 29), np.float32))

main()
'''

MAIN = '''
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=str)
    parser.add_argument("-O", action="store_true")
    parser.add_argument("--test", action="store_true")
    parser.add_argument("--test_train", action="store_true")
    parser.add_argument("--workspace", type=str, default="workspace")
    parser.add_argument("--iters", type=int, default=200000)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--ckpt", type=str, default="latest")
    parser.add_argument("--patch_size", type=int, default=1)
    parser.add_argument("--finetune_lips", action="store_true")
    parser.add_argument("--torso", action="store_true")
    parser.add_argument("--head_ckpt", type=str, default="")
    parser.add_argument("--aud", type=str, default="")
    parser.add_argument("--asr_model", type=str, default="deepspeech")
    %(extra_arguments)s
    opt = parser.parse_args()
    print(opt)
    if opt.torso and opt.head_ckpt and not os.path.isfile(opt.head_ckpt):
        raise FileNotFoundError(opt.head_ckpt)
    for required in ("transforms_train.json", "transforms_val.json", "bc.jpg", "track_params.pt"):
        if not os.path.isfile(os.path.join(opt.path, required)):
            raise FileNotFoundError(os.path.join(opt.path, required))
    checkpoints = os.path.join(opt.workspace, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    if opt.test:
        test(opt)
    else:
        train(opt, checkpoints)

def saved_epochs(checkpoints):
    return sorted(int(name[6:10]) for name in os.listdir(checkpoints) if name.startswith("ngp_ep"))

def train(opt, checkpoints):
    with open(os.path.join(opt.path, "transforms_train.json")) as source:
        steps = len(json.load(source)["frames"])
    max_epoch = int(np.ceil(opt.iters / steps))
    previous = saved_epochs(checkpoints)
    first = previous[-1] + 1 if previous and opt.ckpt == "latest" else 1
    if previous:
        print("[INFO] Latest checkpoint is %%s" %% os.path.join(checkpoints, "ngp_ep%%04d.pth" %% previous[-1]))
    print("[INFO] max_epoch = %%d" %% max_epoch)
    pause = float(os.environ.get("FAKE_NERF_STEP_SECONDS", "0"))
    for epoch in range(first, max_epoch + 1):
        print("==> Start Training Epoch %%d, lr=%%.6f ..." %% (epoch, opt.lr))
        started = time.time()
        for step in range(1, steps + 1):
            time.sleep(pause)
            loss = 0.05 / (epoch + step / steps)
            bar("loss=%%.4f (%%.4f), lr=%%.6f:" %% (loss, loss, opt.lr), step, steps, started)
        sys.stderr.write("\\n")
        print("==> Finished Epoch %%d." %% epoch)
        with open(os.path.join(checkpoints, "ngp_ep%%04d.pth" %% epoch), "wb") as out:
            out.write(("epoch %%d torso %%s" %% (epoch, opt.torso)).encode())
    print("++> Evaluate at epoch %%d ..." %% max_epoch)
    print("PSNR = %%.6f" %% (24.0 + max_epoch / 10))
    print("LPIPS (alex) = %%.6f" %% 0.08)
    with open(os.path.join(checkpoints, "ngp.pth"), "wb") as out:
        out.write(b"ema weights")
    print("++> Evaluate epoch %%d Finished." %% max_epoch)

def test(opt):
    if not os.path.isfile(opt.ckpt):
        raise FileNotFoundError(opt.ckpt)
    if opt.aud.endswith(".npy"):
        frames = len(np.load(opt.aud))
    else:
        import wave
        with wave.open(opt.aud) as wav:
            frames = int(wav.getnframes() / wav.getframerate() * 25)
    background = cv2.imread(os.path.join(opt.path, "bc.jpg"))
    height, width = background.shape[:2]
    results = os.path.join(opt.workspace, "results")
    os.makedirs(results, exist_ok=True)
    name = "ngp_ep%%04d" %% 10
    writer = cv2.VideoWriter(os.path.join(results, name + ".mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (width, height))
    print("==> Start Test, save results to %%s" %% results)
    started = time.time()
    for index in range(frames):
        frame = background.copy()
        cv2.circle(frame, (width // 2, height * 2 // 3), 5 + index %% 20, (40, 40, 160), -1)
        writer.write(frame)
        bar("", index + 1, frames, started)
    writer.release()
    sys.stderr.write("\\n")
    print("==> Finished Test.")

main()
'''

ERNERF_TASKS = {1: "audio", 2: "features", 3: "images", 4: "parsing", 5: "background", 6: "torso",
                7: "landmarks", 8: "tracking", 9: "transforms"}
SYNCTALK_TASKS = {1: "audio", 2: "images", 3: "parsing", 4: "background", 5: "torso", 6: "landmarks",
                  7: "tracking", 8: "bundle", 9: "blendshapes", 10: "transforms"}


def make_fake_checkout(root: Path, project: str) -> Path:
    """A directory laid out like a checkout of `project` ("ER-NeRF" or "SyncTalk")."""
    root = Path(root)
    synctalk = project == "SyncTalk"
    files = {
        "main.py": MAIN % {"extra_arguments": 'parser.add_argument("--portrait", action="store_true")' if synctalk else "pass"},
        "data_utils/process.py": PROCESS % {"tasks": SYNCTALK_TASKS if synctalk else ERNERF_TASKS, "task1_features": synctalk},
        "data_utils/hubert.py": FEATURES % {
            "arguments": 'parser.add_argument("--wav", type=str)', "wav": "wav", "output": 'opt.wav.replace(".wav", "_hu.npy")'},
        "data_utils/deepspeech_features/extract_ds_features.py": FEATURES % {
            "arguments": 'parser.add_argument("--input", type=str)\n    parser.add_argument("--output", type=str)',
            "wav": "input", "output": "opt.output"},
    }
    if synctalk:
        files["nerf_triplane/checkpoints/audio_visual_encoder.pth"] = "fake AVE weights"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(COMMON + text) if name.endswith(".py") else text)
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "HEAD").write_text("2f88e6ac60c7b4e024b456f785c05f1fc401ec01\n")
    return root
