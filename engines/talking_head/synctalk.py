"""SyncTalk (github.com/ZiqiaoPeng/SyncTalk, CVPR 2024): ER-NeRF's pipeline with its own changes.

From its README and scripts/train_may.sh, run in the checkout:
  python data_utils/process.py data/<ID>/<ID>.mp4 --asr ave --task N   (tasks 1-10; task 1 also
      extracts deepspeech/hubert features, AVE needs none: main.py encodes aud.wav itself)
  python main.py data/<ID> --workspace model/trial_<ID> -O --iters 60000 --asr_model ave
  python main.py data/<ID> --workspace model/trial_<ID> -O --iters 100000 --finetune_lips --patch_size 64 --asr_model ave
  optional torso ("repair double chin"), which rules out --portrait:
  python main.py data/<ID>/ --workspace model/trial_<ID>_torso/ -O --torso --head_ckpt <head>.pth --iters 150000 --asr_model ave
Inference: python main.py <data> --workspace <ws> -O --test --test_train --asr_model ave --portrait --aud <x>.wav
(a .npy of deepspeech/hubert features instead of the wav for those models).
"""
from __future__ import annotations

from pathlib import Path

from engines.messages import gettext_noop
from engines.talking_head.ernerf import ErNerfEngine, Step


class SyncTalkEngine(ErNerfEngine):
    model_type = "SyncTalk"
    setting_prefix = "ECHOFU_SYNCTALK"
    manifest_name = "synctalk.json"
    asr_models = ("ave", "deepspeech", "hubert")
    default_audio_features = "ave"
    workspace_root = "model/"  # README: --workspace model/trial_may
    head_iters = 60_000
    lips_iters = 100_000
    lips_patch_size = 64
    torso_iters = 150_000
    torso_by_default = False  # portrait mode (the default) gives the better result and excludes torso
    default_ind_num = 20_000  # main.py --ind_num
    # nerf_triplane/provider.py: blendshapes from bs.npy (au.csv only with --au45); --portrait pastes
    # the face back onto ori_imgs/<i>.jpg through parsing/<i>_face.png.
    model_files = ("transforms_train.json", "transforms_val.json", "bc.jpg", "bs.npy", "au.csv", "track_params.pt",
                   "bundle_adjustment.pt", "aud.wav", "aud_*.npy", "gt_imgs/*.jpg", "torso_imgs/*.png",
                   "ori_imgs/*.lms", "ori_imgs/*.jpg", "parsing/*_face.png")
    frame_files = ErNerfEngine.frame_files + ("ori_imgs/{}.jpg", "parsing/{}_face.png")
    render_files = ("transforms_train.json", "bc.jpg", "bs.npy")

    def extra_required_files(self) -> tuple[str, ...]:
        # provider.py loads it by this relative path when --asr_model ave.
        return ("nerf_triplane/checkpoints/audio_visual_encoder.pth",) if self.asr_model == "ave" else ()

    def process_options(self) -> tuple[str, ...]:
        return ("--asr", self.asr_model)

    def preprocess_steps(self, video: str, data: str) -> list[Step]:
        task = self.process_task(video)
        features = self.feature_command(f"{data}/aud.wav", self.asr_model)
        return [
            task(1, gettext_noop("audio and audio features"), 5, "aud.wav", *([Path(features[1]).name] if features else [])),
            task(2, gettext_noop("extract images"), 3, "ori_imgs/*.jpg"),
            task(3, gettext_noop("face parsing"), 12, "parsing/*.png"),
            task(4, gettext_noop("background"), 4, "bc.jpg"),
            task(5, gettext_noop("torso and ground-truth images"), 12, "gt_imgs/*.jpg", "torso_imgs/*.png"),
            task(6, gettext_noop("face landmarks"), 15, "ori_imgs/*.lms"),
            task(7, gettext_noop("face tracking"), 35, "track_params.pt"),
            task(8, gettext_noop("optical flow and bundle adjustment"), 20, "bundle_adjustment.pt"),
            task(9, gettext_noop("blendshapes"), 5, "bs.npy"),
            task(10, gettext_noop("transforms"), 1, "transforms_train.json", "transforms_val.json"),
        ]

    def finish_preprocessing(self, data_dir: Path) -> list[str]:
        return []

    def inference_flags(self, manifest: dict) -> list[str]:
        return ["--torso"] if manifest.get("torso") else ["--portrait"]
