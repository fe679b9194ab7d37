"""/save_audio: whatever the browser recorded becomes a real PCM WAV at media/audios/input.wav."""
import os
import tempfile

from echofu import paths
from echofu.uploads import RECORDING_EXTENSIONS, UploadRejected
from engines import media

RECORDING_NAME = "input.wav"
RECORDING_RATE = 16000


def save_recording(upload, folder_name: str = paths.RECORDINGS) -> str:
    """Decode the upload (WebM/Opus, Ogg, MP4, WAV...), write 16 kHz mono PCM and swap it in atomically."""
    extension = os.path.splitext(upload.name or "")[1].lower()
    if extension and extension not in RECORDING_EXTENSIONS:
        raise UploadRejected(f"不支持的录音格式 '{extension}'")
    try:
        media.verify(upload.temporary_file_path(), "audio")
        samples = media.load_audio(upload.temporary_file_path(), RECORDING_RATE)
    except media.MediaError as exc:
        raise UploadRejected(f"录音无法解码: {exc}") from exc
    if len(samples) < RECORDING_RATE // 10:
        raise UploadRejected("录音太短 (少于 0.1 秒)")
    folder = paths.absolute(folder_name)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".input-", suffix=".wav", dir=folder)
    os.close(handle)
    try:
        media.write_wav(temp_name, samples, RECORDING_RATE)
        os.replace(temp_name, folder / RECORDING_NAME)
    except BaseException:
        os.unlink(temp_name)
        raise
    return f"{folder_name}/{RECORDING_NAME}"
