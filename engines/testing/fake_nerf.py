"""Fake ER-NeRF / SyncTalk checkouts: the real command lines, files, cadence and failures, no NeRF.

`make_fake_checkout(root, "ER-NeRF")` writes main.py, data_utils/process.py and the helper
scripts process.py starts. Each follows the real source (Fictionarry/ER-NeRF, ZiqiaoPeng/SyncTalk):
- process.py runs one task per call and starts its helpers the way the real one does, with
  `os.system("python data_utils/...")`: a shell and a Python grandchild under the process the
  adapter started. A failing helper leaves its output missing while process.py exits 0.
  Face landmarks stop at the first frame without a face with the real
  `TypeError: object of type 'NoneType' has no len()` (face_alignment returns None there).
- main.py loads what nerf_triplane/provider.py loads, in its order and with the errors the real
  calls raise when a file is missing: transforms_<split>.json, the audio features (aud_ds.npy /
  aud_hu.npy, or the --aud file), au.csv (ER-NeRF; SyncTalk bs.npy unless --au45), per frame
  gt_imgs/<id>.jpg (skipped with "[WARN] ... NOT FOUND!"), ori_imgs/<id>.lms and
  torso_imgs/<id>.png, then bc.jpg. Training asserts `len(train_loader) < opt.ind_num` with the
  real message and keeps the Trainer's cadence: whole epochs up to ceil(--iters / frames), resumed
  from the workspace's latest `ngp_epNNNN.pth` (the lips finetune goes on from the head's epoch; the
  torso's own workspace starts from none), a full checkpoint after every epoch (two kept),
  evaluation and the EMA `ngp.pth` only when `epoch % eval_interval == 0`, with eval_interval =
  max(1, int(5000 / len(train_loader))). The PSNR printed is measured between the validation
  frames and the fake's "prediction" (the background blended towards the frame as epochs pass),
  so it depends on the data and changes from one evaluation to the next.
  --test loads the checkpoint and refuses one trained with another --ind_num with torch's
  size-mismatch message.
Frames are really decoded and a real (silent) video is rendered, so the adapter's file handling
is exercised for real; landmarks come from dlib's detector and 68-point predictor.

Environment knobs for tests: FAKE_NERF_STEP_SECONDS (sleep per training step and per tracked
frame, to cancel mid-run), FAKE_NERF_FAIL_TASK (the helper of that process.py task is not
found), FAKE_NERF_IGNORE_SIGTERM (the face tracker ignores SIGTERM, as a process stuck in a CUDA
call does).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

COMMON = '''
import argparse, glob, json, os, signal, sys, time
import numpy as np
import cv2

class Bar:
    """tqdm's redraws on stderr, at most every 0.1 s (tqdm's mininterval), and the last one."""

    def __init__(self, total, prefix=""):
        self.total, self.prefix, self.started, self.drawn = total, prefix, time.time(), 0.0

    def update(self, done, prefix=None):
        now = time.time()
        if done < self.total and now - self.drawn < 0.1:
            return
        self.drawn = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else 0
        clock = lambda s: "%02d:%02d" % (int(s) // 60, int(s) % 60)
        head = (prefix if prefix is not None else self.prefix)
        sys.stderr.write("\\r%s %3d%% %d/%d [%s<%s, %.2fit/s]" % (head, int(100 * done / max(self.total, 1)), done, self.total, clock(elapsed), clock(left), rate))
        sys.stderr.flush()
'''

# data_utils/process.py. Task numbers and names per project are filled in.
PROCESS = '''
TASKS = __TASKS__
FEATURES_IN_TASK_1 = __FEATURES_IN_TASK_1__

def helper(task, command):
    """process.py's os.system: a shell runs the helper; its failure does not stop process.py."""
    if str(task) == os.environ.get("FAKE_NERF_FAIL_TASK"):
        command = "echofu_missing_helper " + command
    os.system(command)

def image_paths(ori_imgs_dir):
    return glob.glob(os.path.join(ori_imgs_dir, "*.jpg"))

def extract_landmarks(ori_imgs_dir):
    print("[INFO] ===== extract face landmarks from %s =====" % ori_imgs_dir)
    import dlib, face_recognition_models
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    paths = image_paths(ori_imgs_dir)
    bar = Bar(len(paths))
    for index, image_path in enumerate(paths):
        rgb = cv2.cvtColor(cv2.imread(image_path, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
        # face_alignment's SFD finds faces HOG is unsure of: a lower threshold stands in for it.
        faces, _, _ = detector.run(rgb, 1 if max(rgb.shape[:2]) < 400 else 0, -0.5)
        preds = [np.array([(p.x, p.y) for p in predictor(rgb, face).parts()], np.float32) for face in faces] or None
        if len(preds) > 0:
            np.savetxt(image_path.replace("jpg", "lms"), preds[0].reshape(-1, 2)[:, :2], "%f")
        bar.update(index + 1)
    print("[INFO] ===== extracted face landmarks =====")

def extract_background(base_dir, ori_imgs_dir):
    print("[INFO] ===== extract background image from %s =====" % ori_imgs_dir)
    paths = image_paths(ori_imgs_dir)[::20]
    parse_img = cv2.imread(paths[0].replace("ori_imgs", "parsing").replace(".jpg", ".png"))
    background = parse_img[..., 0] == 255
    image = cv2.imread(paths[0])
    image[~background] = image[background].mean(axis=0) if background.any() else 0
    cv2.imwrite(os.path.join(base_dir, "bc.jpg"), image)
    print("[INFO] ===== extracted background image =====")

def extract_torso_and_gt(base_dir, ori_imgs_dir):
    print("[INFO] ===== extract torso and gt images for %s =====" % base_dir)
    bg_image = cv2.imread(os.path.join(base_dir, "bc.jpg"), cv2.IMREAD_UNCHANGED)
    for image_path in image_paths(ori_imgs_dir):
        ori_image = cv2.imread(image_path, cv2.IMREAD_UNCHANGED)
        seg = cv2.imread(image_path.replace("ori_imgs", "parsing").replace(".jpg", ".png"))
        bg_part = (seg[..., 0] == 255) & (seg[..., 1] == 255) & (seg[..., 2] == 255)
        gt_image = ori_image.copy()
        gt_image[bg_part] = bg_image[bg_part]
        cv2.imwrite(image_path.replace("ori_imgs", "gt_imgs"), gt_image)
        alpha = np.full(gt_image.shape[:2] + (1,), 255, np.uint8)
        cv2.imwrite(image_path.replace("ori_imgs", "torso_imgs").replace(".jpg", ".png"), np.concatenate([gt_image, alpha], axis=-1))
    print("[INFO] ===== extracted torso and gt images =====")

def face_tracking(ori_imgs_dir):
    print("[INFO] ===== perform face tracking =====")
    paths = image_paths(ori_imgs_dir)
    h, w = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED).shape[:2]
    helper(TASK_OF["tracking"], "python data_utils/face_tracking/face_tracker.py --path=%s --img_h=%d --img_w=%d --frame_num=%d" % (ori_imgs_dir, h, w, len(paths)))
    print("[INFO] ===== finished face tracking =====")

def save_transforms(base_dir, ori_imgs_dir):
    print("[INFO] ===== save transforms =====")
    paths = image_paths(ori_imgs_dir)
    h, w = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED).shape[:2]
    with open(os.path.join(base_dir, "track_params.pt")) as source:  # torch.load opens it the same way
        valid_num = json.load(source)["frames"]
    train_val_split = int(valid_num * 10 / 11)
    for save_id, ids in (("train", range(0, train_val_split)), ("val", range(train_val_split, valid_num))):
        frames = [{"img_id": i, "aud_id": i, "transform_matrix": np.eye(4).tolist()} for i in ids]
        with open(os.path.join(base_dir, "transforms_" + save_id + ".json"), "w") as fp:
            json.dump({"focal_len": 1200.0, "cx": w / 2.0, "cy": h / 2.0, "frames": frames}, fp, indent=2)
    print("[INFO] ===== finished saving transforms =====")

def small_file(path, text):
    with open(path, "w") as out:
        out.write(text)

TASK_OF = {name: number for number, name in TASKS.items()}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=str)
    parser.add_argument("--task", type=int, default=-1)
    parser.add_argument("--asr", type=str, default="deepspeech")
    opt = parser.parse_args()
    base_dir = os.path.dirname(opt.path)
    wav_path = os.path.join(base_dir, "aud.wav")
    ori_imgs_dir = os.path.join(base_dir, "ori_imgs")
    parsing_dir = os.path.join(base_dir, "parsing")
    for folder in (ori_imgs_dir, parsing_dir, os.path.join(base_dir, "gt_imgs"), os.path.join(base_dir, "torso_imgs")):
        os.makedirs(folder, exist_ok=True)
    name = TASKS[opt.task]
    if name == "audio":
        print("[INFO] ===== extract audio from %s to %s =====" % (opt.path, wav_path))
        helper(opt.task, "python data_utils/ffmpeg_stand_in.py audio %s %s" % (opt.path, wav_path))
        if FEATURES_IN_TASK_1 and opt.asr == "deepspeech":
            helper(opt.task, "python data_utils/deepspeech_features/extract_ds_features.py --input %s" % wav_path)
        elif FEATURES_IN_TASK_1 and opt.asr == "hubert":
            helper(opt.task, "python data_utils/hubert.py --wav %s" % wav_path)
    elif name == "features":
        helper(opt.task, "python data_utils/deepspeech_features/extract_ds_features.py --input %s" % wav_path)
    elif name == "images":
        print("[INFO] ===== extract images from %s to %s =====" % (opt.path, ori_imgs_dir))
        helper(opt.task, "python data_utils/ffmpeg_stand_in.py images %s %s" % (opt.path, ori_imgs_dir))
    elif name == "parsing":
        helper(opt.task, "python data_utils/face_parsing/test.py --respath=%s --imgpath=%s" % (parsing_dir, ori_imgs_dir))
    elif name == "background":
        extract_background(base_dir, ori_imgs_dir)
    elif name == "torso":
        extract_torso_and_gt(base_dir, ori_imgs_dir)
    elif name == "landmarks":
        extract_landmarks(ori_imgs_dir)
    elif name == "tracking":
        face_tracking(ori_imgs_dir)
    elif name == "bundle":
        small_file(os.path.join(base_dir, "bundle_adjustment.pt"), "fake bundle adjustment")
    elif name == "blendshapes":
        np.save(os.path.join(base_dir, "bs.npy"), np.zeros((len(image_paths(ori_imgs_dir)), 52), np.float32))
    elif name == "transforms":
        save_transforms(base_dir, ori_imgs_dir)
'''

# What process.py runs through ffmpeg: `-f wav -ar 16000` and `-vf fps=25 ... %d.jpg` (no system
# ffmpeg here, so PyAV and OpenCV do the same work in a helper process of the same shape).
FFMPEG_STAND_IN = '''
mode, source, target = sys.argv[1:4]
if mode == "audio":
    import av, wave
    with av.open(source) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        pcm = b"".join(bytes(out.planes[0])[: out.samples * 2] for frame in container.decode(container.streams.audio[0]) for out in resampler.resample(frame))
    with wave.open(target, "wb") as wav:
        wav.setnchannels(1); wav.setsampwidth(2); wav.setframerate(16000); wav.writeframes(pcm)
else:
    capture = cv2.VideoCapture(source)
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        cv2.imwrite(os.path.join(target, "%d.jpg" % index), frame)
        index += 1
'''

# data_utils/face_parsing/test.py: white background, red head (BiSeNet colours), <id>_face.png for SyncTalk.
FACE_PARSING = '''
parser = argparse.ArgumentParser()
parser.add_argument("--respath", type=str)
parser.add_argument("--imgpath", type=str)
opt = parser.parse_args()
paths = sorted(glob.glob(os.path.join(opt.imgpath, "*.jpg")))
bar = Bar(len(paths))
for index, path in enumerate(paths):
    frame = cv2.imread(path)
    h, w = frame.shape[:2]
    parsing = np.full_like(frame, 255)
    parsing[h // 5: h, w // 5: 4 * w // 5] = (255, 0, 0)
    name = os.path.basename(path)[:-4]
    cv2.imwrite(os.path.join(opt.respath, name + ".png"), parsing)
    cv2.imwrite(os.path.join(opt.respath, name + "_face.png"), parsing)
    bar.update(index + 1)
'''

# data_utils/face_tracking/face_tracker.py: loads every frame's landmarks, then fits for a while.
FACE_TRACKER = '''
if os.environ.get("FAKE_NERF_IGNORE_SIGTERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
parser = argparse.ArgumentParser()
parser.add_argument("--path", type=str)
parser.add_argument("--img_h", type=int)
parser.add_argument("--img_w", type=int)
parser.add_argument("--frame_num", type=int)
opt = parser.parse_args()
lms = np.stack([np.loadtxt(os.path.join(opt.path, "%d.lms" % i)) for i in range(opt.frame_num)])
pause = float(os.environ.get("FAKE_NERF_STEP_SECONDS", "0"))
for index in range(opt.frame_num):
    time.sleep(pause)
    print("%d of %d done" % (index + 1, opt.frame_num))
with open(os.path.join(os.path.dirname(opt.path), "track_params.pt"), "w") as out:
    json.dump({"frames": opt.frame_num, "landmarks_mean": float(lms.mean())}, out)
'''

FEATURES = '''
parser = argparse.ArgumentParser()
__ARGUMENTS__
opt = parser.parse_args()
import wave
with wave.open(opt.__WAV__) as wav:
    seconds = wav.getnframes() / wav.getframerate()
frames = int(seconds * 25)
bar = Bar(frames)
for index in range(frames):
    bar.update(index + 1)
np.save(__OUTPUT__, np.zeros((frames, 16, 29), np.float32))
'''

MAIN = '''
PROJECT = __PROJECT__

def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=str)
    parser.add_argument("-O", action="store_true")
    parser.add_argument("--test", action="store_true")
    parser.add_argument("--test_train", action="store_true")
    parser.add_argument("--workspace", type=str, default="workspace")
    parser.add_argument("--iters", type=int, default=200000)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--ckpt", type=str, default="latest")
    parser.add_argument("--num_rays", type=int, default=4096 * 16)
    parser.add_argument("--patch_size", type=int, default=1)
    parser.add_argument("--finetune_lips", action="store_true")
    parser.add_argument("--torso", action="store_true")
    parser.add_argument("--head_ckpt", type=str, default="")
    parser.add_argument("--aud", type=str, default="")
    parser.add_argument("--asr_model", type=str, default="deepspeech")
    parser.add_argument("--ind_num", type=int, default=__IND_NUM__)
    if PROJECT == "SyncTalk":
        parser.add_argument("--portrait", action="store_true")
        parser.add_argument("--au45", action="store_true")
    opt = parser.parse_args()
    if opt.patch_size > 1:
        assert opt.num_rays % (opt.patch_size ** 2) == 0, "patch_size ** 2 should be dividable by num_rays."
    return opt

def audio_features(opt):
    """provider.py: the self-driven features in the data dir, or the --aud file."""
    if opt.aud == "":
        if opt.asr_model == "ave":
            return frames_of_wav(os.path.join(opt.path, "aud.wav"))
        name = "aud_ds.npy" if "deepspeech" in opt.asr_model else "aud_hu.npy" if "hubert" in opt.asr_model else "aud.npy"
        return len(np.load(os.path.join(opt.path, name)))
    if opt.asr_model == "ave":
        return frames_of_wav(opt.aud)
    return len(np.load(opt.aud))

def frames_of_wav(path):
    import wave
    with wave.open(path) as wav:  # AudDataset: 25 mel windows a second
        return int(wav.getnframes() / wav.getframerate() * 25)

def load_dataset(opt, split):
    """NeRFDataset.__init__: the files it opens, in its order, failing as the real calls fail."""
    with open(os.path.join(opt.path, "transforms_%s.json" % ("val" if split == "test" else split)), "r") as f:
        transform = json.load(f)
    frames = transform["frames"][:100] if split == "val" else transform["frames"]
    print("[INFO] load %d %s frames." % (len(frames), split))
    feature_count = audio_features(opt)
    if PROJECT == "ER-NeRF" or opt.au45:
        with open(os.path.join(opt.path, "au.csv")) as source:  # pd.read_csv raises the same FileNotFoundError
            header = source.readline()
        assert "AU45_r" in header, "KeyError: ' AU45_r'"
    else:
        np.load(os.path.join(opt.path, "bs.npy"))
    loaded = []
    for f in frames:
        f_path = os.path.join(opt.path, "gt_imgs", str(f["img_id"]) + ".jpg")
        if not os.path.exists(f_path):
            print("[WARN]", f_path, "NOT FOUND!")
            continue
        np.loadtxt(os.path.join(opt.path, "ori_imgs", str(f["img_id"]) + ".lms"))
        if PROJECT == "SyncTalk" and opt.portrait:
            cv2.imread(os.path.join(opt.path, "ori_imgs", str(f["img_id"]) + ".jpg")).shape
        loaded.append(f["img_id"])
    bg_img = cv2.imread(os.path.join(opt.path, "bc.jpg"), cv2.IMREAD_UNCHANGED)
    if bg_img.shape[0] != int(transform["cy"]) * 2:
        bg_img = cv2.resize(bg_img, (int(transform["cx"]) * 2, int(transform["cy"]) * 2))
    np.stack([np.eye(4) for _ in loaded], axis=0)
    return {"ids": loaded, "bg": bg_img, "auds": feature_count}

TORSO = {}

def torso_image(opt, img_id):
    """collate() with preload 0 reads the torso image of each frame as it is used (here once a frame)."""
    if img_id not in TORSO:
        image = cv2.imread(os.path.join(opt.path, "torso_imgs", str(img_id) + ".png"), cv2.IMREAD_UNCHANGED)
        TORSO[img_id] = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return TORSO[img_id]

def save(path, state):
    with open(path, "w") as out:
        json.dump(state, out)

def load_checkpoint(path, opt):
    with open(path) as source:  # torch.load raises the same FileNotFoundError
        state = json.load(source)
    if state["ind_num"] != opt.ind_num:
        raise RuntimeError("Error(s) in loading state_dict for NeRFNetwork:\\n\\tsize mismatch for individual_codes: "
                           "copying a param with shape torch.Size([%d, 4]) from checkpoint, the shape in current model is torch.Size([%d, 4])."
                           % (state["ind_num"], opt.ind_num))
    print("[INFO] loaded model.")
    return state

def psnr(opt, val, epoch):
    """PSNR of the validation frames against the background blended towards them as training goes."""
    weight = 1 - 0.9 ** (epoch / 10)
    errors = []
    for img_id in val["ids"]:
        truth = cv2.imread(os.path.join(opt.path, "gt_imgs", "%d.jpg" % img_id)).astype(np.float32) / 255
        background = cv2.resize(val["bg"], truth.shape[1::-1]).astype(np.float32) / 255
        errors.append(np.mean((background + weight * (truth - background) - truth) ** 2))
    return -10 * np.log10(max(float(np.mean(errors)), 1e-10))

def train(opt):
    train_set = load_dataset(opt, "train")
    assert len(train_set["ids"]) < opt.ind_num, "[ERROR] dataset too many frames: %d, please increase --ind_num to this number!" % len(train_set["ids"])
    checkpoints = os.path.join(opt.workspace, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    with open(os.path.join(opt.workspace, "opt.txt"), "a") as f:
        f.write(str(opt))
    print("[INFO] Trainer: ngp | %s | cuda | fp16 | %s" % (time.strftime("%Y-%m-%d_%H-%M-%S"), opt.workspace))
    epoch, kept = 0, []
    if opt.torso and opt.head_ckpt != "":
        with open(opt.head_ckpt) as source:
            json.load(source)
    existing = sorted(glob.glob(os.path.join(checkpoints, "ngp_ep*.pth")))
    if opt.ckpt == "latest" and existing:
        print("[INFO] Latest checkpoint is %s" % existing[-1])
        state = load_checkpoint(existing[-1], opt)
        epoch, kept = state["epoch"], state["kept"]
        print("[INFO] load at epoch %d, global step %d" % (epoch, state["global_step"]))
    elif opt.ckpt == "latest":
        print("[WARN] No checkpoint found, model randomly initialized.")
    val_set = load_dataset(opt, "val")
    steps = len(train_set["ids"])
    eval_interval = max(1, int(5000 / steps))
    max_epochs = int(np.ceil(opt.iters / steps))
    print("[INFO] max_epoch = %d" % max_epochs)
    pause = float(os.environ.get("FAKE_NERF_STEP_SECONDS", "0"))
    for epoch in range(epoch + 1, max_epochs + 1):
        print("==> Start Training Epoch %d, lr=%.6f ..." % (epoch, opt.lr))
        bar = Bar(steps)
        for step, img_id in enumerate(train_set["ids"], 1):
            time.sleep(pause)
            torso_image(opt, img_id)
            loss = 0.05 / (epoch + step / steps)
            bar.update(step, "loss=%.4f (%.4f), lr=%.6f:" % (loss, loss, opt.lr))
        sys.stderr.write("\\n")
        print("==> Finished Epoch %d." % epoch)
        path = os.path.join(checkpoints, "ngp_ep%04d.pth" % epoch)
        kept.append(path)
        if len(kept) > 2:  # max_keep_ckpt=2
            old = kept.pop(0)
            if os.path.exists(old):
                os.remove(old)
        state = {"epoch": epoch, "global_step": epoch * steps, "ind_num": opt.ind_num, "torso": opt.torso, "kept": kept, "ema": False}
        save(path, state)
        if epoch % eval_interval == 0:
            print("++> Evaluate at epoch %d ..." % epoch)
            Bar(len(val_set["ids"])).update(len(val_set["ids"]), "loss=0.0100 (0.0100)")
            sys.stderr.write("\\n")
            print("PSNR = %.6f" % psnr(opt, val_set, epoch))
            print("LPIPS (alex) = %.6f" % (0.2 / (1 + epoch / 50)))
            print("++> Evaluate epoch %d Finished." % epoch)
            save(os.path.join(checkpoints, "ngp.pth"), {**state, "ema": True})
    test(opt, val_set, state)

def test(opt, dataset, state):
    """Trainer.test: one frame per audio feature frame, ngp_ep<epoch>.mp4 (+ _depth) in <workspace>/results."""
    results = os.path.join(opt.workspace, "results")
    os.makedirs(results, exist_ok=True)
    name = "ngp_ep%04d" % state["epoch"]
    background = dataset["bg"]
    height, width = background.shape[:2]
    print("==> Start Test, save results to %s" % results)
    frames = dataset["auds"]
    ids = dataset["ids"]
    writer = cv2.VideoWriter(os.path.join(results, name + ".mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (width, height))
    depth = cv2.VideoWriter(os.path.join(results, name + "_depth.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (width, height))
    bar = Bar(frames)
    pause = float(os.environ.get("FAKE_NERF_STEP_SECONDS", "0"))
    for index in range(frames):
        time.sleep(pause / 4)
        turn, rest = divmod(index, len(ids))
        torso_image(opt, ids[rest if turn % 2 == 0 else len(ids) - rest - 1])  # mirror_index
        frame = background.copy()
        cv2.circle(frame, (width // 2, height * 2 // 3), 5 + index % 20, (40, 40, 160), -1)
        writer.write(frame)
        depth.write(np.zeros_like(frame))
        bar.update(index + 1)
    writer.release()
    depth.release()
    sys.stderr.write("\\n")
    print("==> Finished Test.")

if __name__ == "__main__":
    opt = parse()
    print(opt)
    if opt.test:
        print("[INFO] Loading %s ..." % opt.ckpt)
        state = load_checkpoint(opt.ckpt, opt)
        dataset = load_dataset(opt, "train" if opt.test_train else "test")
        test(opt, dataset, state)
    else:
        train(opt)
'''

ERNERF_TASKS = {1: "audio", 2: "features", 3: "images", 4: "parsing", 5: "background", 6: "torso",
                7: "landmarks", 8: "tracking", 9: "transforms"}
SYNCTALK_TASKS = {1: "audio", 2: "images", 3: "parsing", 4: "background", 5: "torso", 6: "landmarks",
                  7: "tracking", 8: "bundle", 9: "blendshapes", 10: "transforms"}
IND_NUM_DEFAULT = {"ER-NeRF": 10000, "SyncTalk": 20000}  # main.py --ind_num defaults


def fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"__{key}__", value)
    return template


def make_fake_checkout(root: Path, project: str) -> Path:
    """A directory laid out like a checkout of `project` ("ER-NeRF" or "SyncTalk")."""
    root = Path(root)
    synctalk = project == "SyncTalk"
    scripts = {
        "main.py": fill(MAIN, PROJECT=repr(project), IND_NUM=str(IND_NUM_DEFAULT[project])),
        "data_utils/process.py": fill(PROCESS, TASKS=repr(SYNCTALK_TASKS if synctalk else ERNERF_TASKS), FEATURES_IN_TASK_1=repr(synctalk)),
        "data_utils/ffmpeg_stand_in.py": FFMPEG_STAND_IN,
        "data_utils/face_parsing/test.py": FACE_PARSING,
        "data_utils/face_tracking/face_tracker.py": FACE_TRACKER,
        "data_utils/hubert.py": fill(FEATURES, ARGUMENTS='parser.add_argument("--wav", type=str)', WAV="wav",
                                     OUTPUT='opt.wav.replace(".wav", "_hu.npy")'),
        # Without --output ER-NeRF's script writes <stem>.npy, SyncTalk's <stem>_ds.npy.
        "data_utils/deepspeech_features/extract_ds_features.py": fill(
            FEATURES, ARGUMENTS='parser.add_argument("--input", type=str)\nparser.add_argument("--output", type=str, default="")',
            WAV="input", OUTPUT=f'opt.output or opt.input.replace(".wav", {"_ds.npy" if synctalk else ".npy"!r})'),
    }
    for name, text in scripts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(COMMON) + textwrap.dedent(text))
    if synctalk:
        (root / "nerf_triplane/checkpoints").mkdir(parents=True, exist_ok=True)
        (root / "nerf_triplane/checkpoints/audio_visual_encoder.pth").write_text("fake AVE weights")
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "HEAD").write_text("2f88e6ac60c7b4e024b456f785c05f1fc401ec01\n")
    return root
