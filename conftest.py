"""Fixtures for the Django apps' tests (engine tests under engines/ need no Django)."""
import copy
import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest

ENGINES_DIR = Path(__file__).parent / "engines"


def pytest_configure(config):
    """Marks the processes this run starts, after killing what a killed run of this checkout left behind."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it, and set the mark
        return
    from monitoring.tests.qcluster import TEST_RUN_MARK, kill_leftovers_of_dead_runs

    checkout = str(Path(__file__).resolve().parent)
    kill_leftovers_of_dead_runs(checkout)
    os.environ[TEST_RUN_MARK] = f"{checkout}:{os.getpid()}"


def pytest_collection_modifyitems(config, items):
    """Files with slow (training, rendering) tests run first, then the others, those holding more tests
    first: under `--dist loadfile` a long file scheduled last keeps one worker busy while the other has
    nothing left to do. (run.sh passes `--no-loadscope-reorder`: xdist would otherwise schedule the files
    by their number of tests alone, and the slow files holding one or two tests, a minute or two each, last.)"""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    tests_per_file = Counter(item.path for item in items)
    # stable: the order within each file is kept
    items.sort(key=lambda item: (False, 0) if item.path in slow_files else (True, -tests_per_file[item.path]))


@pytest.fixture(autouse=True)
def isolated_media(request, tmp_path_factory):
    """Each Django test gets its own empty media tree."""
    if request.node.path.is_relative_to(ENGINES_DIR):
        yield None
        return
    settings = request.getfixturevalue("settings")
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "tmp" / "uploads")
    from echofu import paths

    paths.ensure_media_tree()
    yield root


@pytest.fixture(autouse=True)
def fresh_local_user(request):
    """A rolled-back test leaves no cached single-user account behind for the next one."""
    if request.node.path.is_relative_to(ENGINES_DIR):
        yield
        return
    from echofu.ownership import forget_local_user

    forget_local_user()
    yield
    forget_local_user()


@pytest.fixture(autouse=True)
def fresh_engine_answers(request):
    """No engine's availability remembered from another test's settings or mocks."""
    if request.node.path.is_relative_to(ENGINES_DIR):
        return
    from echofu import availability

    availability.forget()


@pytest.fixture
def media_root(isolated_media) -> Path:
    return isolated_media


@pytest.fixture
def client():
    from django.test import Client

    return Client()


@pytest.fixture
def wav_file(tmp_path) -> Path:
    from engines.testing.simple_media import write_tone_wav

    return write_tone_wav(tmp_path / "声音 sample.wav", seconds=1.5)


@pytest.fixture
def plain_video(tmp_path) -> Path:
    from engines.testing.simple_media import write_plain_video

    return write_plain_video(tmp_path / "clip.mp4", seconds=1.0)



@pytest.fixture
def model(media_root):
    """An EchoLite model `m1` with its folder: what a render or chat request names."""
    from training.models import TalkingHeadModel

    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    return TalkingHeadModel.objects.create(model_type="EchoLite", name="m1")


@pytest.fixture
def reference(media_root, wav_file):
    """A reference audio `voices/ref_voices/ref.wav` in the catalog."""
    from assets.models import ReferenceAudio

    target = media_root / "voices/ref_voices/ref.wav"
    target.write_bytes(wav_file.read_bytes())
    return ReferenceAudio.objects.create(file="voices/ref_voices/ref.wav", size=target.stat().st_size)


# The default voice's fits made in this test process: (file bytes, summary) by what they were fitted from.
_voice_fits: dict[tuple, tuple[bytes, dict]] = {}


@pytest.fixture
def voice_unmeasured(monkeypatch):
    """For tests that need a real fit but not its figures (room tone, a missing encoder, renders from a cloned
    voice): clones skip their self-evaluation, about 15 s of CPU each, as chat and one-shot clones do. The
    evaluation is tested in engines/tests/test_voice_self_evaluation.py and by the /audio_clone tests without this."""
    from assets import speech

    fit = speech.fit_default_voice
    monkeypatch.setattr(speech, "fit_default_voice", lambda features, out_path, progress, evaluate=True: fit(features, out_path, progress, False))


@pytest.fixture
def voice_fit_reused(monkeypatch):
    """For tests whose assertions are about names, versions, rows, files, consent or errors, not about how
    a cloned voice sounds: a clone still goes through /audio_clone, the job, the reference analysis and
    the catalog, but the default voice's fit (transcribing the reference, fitting three base voices and, for
    a clone, measuring the voice, 15-25 s of CPU) is made once per test process for each cleaned recording and copied into
    every later clone of it, file and summary. The fit itself is tested in engines/tests/test_voice_fitted.py
    and end to end by the /audio_clone tests that do not use this fixture."""
    from assets import speech

    fit = speech.fit_default_voice

    def fit_or_copy(features, out_path, progress, evaluate=True):
        # The transcriber and the speech encoder change what a fit holds (a test may break either).
        key = (hashlib.sha256(Path(features.clean_clip).read_bytes()).hexdigest(),
               speech.reference_transcriber() is not None, speech.worker_speech_encoder() is not None, evaluate)
        if key not in _voice_fits:
            summary = fit(features, out_path, progress, evaluate)
            _voice_fits[key] = (Path(out_path).read_bytes(), copy.deepcopy(summary))
            return summary
        fitted, summary = _voice_fits[key]
        Path(out_path).write_bytes(fitted)
        return {**copy.deepcopy(summary), "file": str(out_path)}

    monkeypatch.setattr(speech, "fit_default_voice", fit_or_copy)
