"""/save_audio: whatever the browser recorded becomes a real PCM WAV at media/audios/input.wav."""
import os
import tempfile

from echofu import paths
from echofu.messages import reason_of
from echofu.uploads import RECORDING_EXTENSIONS, UploadRejected, check_media_file
from engines import media
from engines.messages import gettext_noop

RECORDING_NAME = "input.wav"
RECORDING_RATE = 16000
# A spoken question, or speech for a video: the memory a recording takes to convert grows with its length,
# and an upload under the size limit (a low-bitrate one) may last days.
MAX_RECORDING_SECONDS = 600


def save_recording(upload, folder_name: str = paths.RECORDINGS) -> str:
    """Decode the upload (WebM/Opus, Ogg, MP4, WAV...), write 16 kHz mono PCM and swap it in atomically."""
    extension = os.path.splitext(upload.name or "")[1].lower()
    if extension and extension not in RECORDING_EXTENSIONS:
        raise UploadRejected(gettext_noop("unsupported recording format '{extension}'", extension=extension))
    try:
        check_media_file(upload.temporary_file_path(), "audio")
        # A second past the limit tells a recording too long from one just long enough, whatever its header says.
        samples = media.load_audio(upload.temporary_file_path(), RECORDING_RATE, max_seconds=MAX_RECORDING_SECONDS + 1)
    except media.MediaError as exc:
        raise UploadRejected(gettext_noop("the recording cannot be decoded: {reason}", reason=reason_of(exc))) from exc
    if len(samples) > MAX_RECORDING_SECONDS * RECORDING_RATE:
        raise UploadRejected(gettext_noop("the recording is too long: at most {minutes:.0f} minutes", minutes=MAX_RECORDING_SECONDS / 60))
    if len(samples) < RECORDING_RATE // 10:
        raise UploadRejected(gettext_noop("the recording is too short (under 0.1 s)"))
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
