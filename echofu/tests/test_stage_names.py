"""Every stage a job reports has a name in the page's language (engines.progress.STAGE_NAMES), on the job
cards and in the notes and failures that name a stage."""
import re
from pathlib import Path

from django.utils import translation

from echofu.messages import localized
from engines.progress import STAGE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["engines", "assets", "training", "generation", "chat", "monitoring"]
# The ways code names a stage: progress("name", ...), run_command(command, "name", ...),
# TrainingStage("name", ...), the runner's own updates (stage="name", {"stage": "name"}), the
# Job field's default, and the keys of a staged(progress, {...}) share table (*_STAGES).
STAGE_CALLS = [
    re.compile(r'\bprogress\(\s*"([^"]+)"'),
    re.compile(r'\brun_command\([^\n]*?,\s*"([^"]+)"'),
    re.compile(r'\bTrainingStage\(\s*"([^"]+)"'),
    re.compile(r'\bstage=\s*"([^"]+)"'),
    re.compile(r'"stage":\s*"([^"]+)"'),
    re.compile(r'\bstage = models\.CharField\([^\n]*default="([^"]+)"'),
]
SHARE_TABLE = re.compile(r'_STAGES = \{([^}]*)\}')


def reported_stages() -> set[str]:
    stages = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" in path.parts or "testing" in path.parts or path.name == "admin.py":  # the admin shows stages, reports none
                continue
            text = path.read_text()
            for pattern in STAGE_CALLS:
                stages.update(pattern.findall(text))
            for table in SHARE_TABLE.findall(text):
                stages.update(re.findall(r'"([^"]+)":', table))
    return stages


def test_the_scan_finds_the_stages_it_should():
    assert {"track", "crop", "train", "render", "preprocess", "train_head", "queued", "starting", "done"} <= reported_stages()


def test_every_reported_stage_has_a_translated_name():
    assert sorted(reported_stages() - set(STAGE_NAMES)) == []


def test_every_stage_name_has_its_chinese():
    with translation.override("zh-hans"):
        assert [stage for stage, name in STAGE_NAMES.items() if localized(name).isascii()] == []
