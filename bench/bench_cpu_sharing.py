"""CPU jobs side by side: torch's OpenMP threads spinning or sleeping while they wait.

The studio runs trainings side by side on the CPU queue (ECHOFU_CPU_JOB_SLOTS, 2) and renders beside
them, each job a torch process with one thread per core. OpenMP's threads spin while they wait for
each other unless OMP_WAIT_POLICY says PASSIVE (which echofu/settings.py sets by default). This times
EchoLite trainings of a fixed epoch count on a generated face, one alone and two side by side, under
each policy, one policy after the other in one run (these machines are shared; --rounds repeats the
sequence). Each training is a process of its own, since OpenMP reads the policy once when torch loads it.

Results: bench/results/cpu_sharing.json. Run: .venv/bin/python bench/bench_cpu_sharing.py [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
POLICIES = ("PASSIVE", "ACTIVE")


def train_one(video: Path, workdir: Path, epochs: int) -> None:
    """One training as the CPU queue runs it: the engine's own thread count, nothing else loaded."""
    from engines.talking_head import TrainParams, create_engine

    started = time.monotonic()
    create_engine("EchoLite").train(video, workdir, TrainParams(epochs=epochs), lambda *args: None)
    print(json.dumps({"seconds": round(time.monotonic() - started, 1)}))


def side_by_side(video: Path, work: Path, epochs: int, policy: str, jobs: int) -> list[float]:
    """Seconds each of `jobs` trainings took, started together under OpenMP wait `policy`."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    processes = [subprocess.Popen([sys.executable, __file__, "--train-one", str(video), str(work / f"{policy}-{jobs}-{index}"), str(epochs)],
                                  env=env, stdout=subprocess.PIPE, text=True) for index in range(jobs)]
    outputs = [process.communicate(timeout=3600)[0] for process in processes]
    if any(process.returncode for process in processes):
        raise SystemExit(f"a training failed under {policy}: {outputs}")
    return [json.loads(output.strip().splitlines()[-1])["seconds"] for output in outputs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=14.0, help="length of the generated face video")
    parser.add_argument("--train-one", nargs=3, metavar=("VIDEO", "WORKDIR", "EPOCHS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_one:
        video, workdir, epochs = args.train_one
        train_one(Path(video), Path(workdir), int(epochs))
        return
    from engines.testing.face_video import make_talking_face_video

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = make_talking_face_video(work / "person.mp4", seconds=args.seconds, size=256, seed=1)
        for round_index in range(args.rounds):
            for policy in POLICIES:
                for jobs in (1, 2):
                    load_before = os.getloadavg()[0]
                    seconds = side_by_side(video, work / f"round{round_index}", args.epochs, policy, jobs)
                    runs.append({"round": round_index, "policy": policy, "jobs": jobs, "seconds": seconds,
                                 "load_before": round(load_before, 2)})
                    print(json.dumps(runs[-1]), flush=True)

    def median(policy: str, jobs: int) -> float:
        return statistics.median(second for run in runs if (run["policy"], run["jobs"]) == (policy, jobs) for second in run["seconds"])

    summary = {policy: {"alone_s": median(policy, 1), "side_by_side_s": median(policy, 2),
                        "side_by_side_over_alone": round(median(policy, 2) / median(policy, 1), 2)} for policy in POLICIES}
    summary["active_over_passive"] = {"alone": round(median("ACTIVE", 1) / median("PASSIVE", 1), 2),
                                      "side_by_side": round(median("ACTIVE", 2) / median("PASSIVE", 2), 2)}
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "training": {"engine": "EchoLite", "epochs": args.epochs, "video": f"generated face, {args.seconds} s, 256x256"},
               "summary": summary, "runs": runs, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (RESULTS / "cpu_sharing.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
