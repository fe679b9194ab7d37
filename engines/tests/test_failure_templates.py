"""What the engines raise where a job meets bad input (no face, too little audio, a cloning engine
without a voice) keeps a template, so that the job's error is read in the reader's language; a plain
English text reached the Chinese pages as it was."""
import numpy as np
import pytest

from engines.face_tracking import fill_and_smooth
from engines.messages import Message
from engines.voice.synthesis import create_synthesizer, require_cloning_request


def raised(call) -> BaseException:
    with pytest.raises(ValueError) as failure:
        call()
    return failure.value


@pytest.mark.parametrize("call, template", [
    (lambda: fill_and_smooth([None, None]), "no face found in the video"),
    (lambda: require_cloning_request("XTTS-v2", None, 0.0), "{engine} clones from a reference clip: extract a speaker first"),
    (lambda: create_synthesizer("nonesuch"), "unknown speech engine '{name}', choose one of: {choices}"),
], ids=["no-face", "no-voice-to-clone", "unknown-engine"])
def test_a_jobs_bad_input_is_refused_with_a_template(call, template):
    failure = raised(call)
    assert len(failure.args) == 1 and isinstance(failure.args[0], Message), failure.args
    assert failure.args[0].template == template


def test_too_short_audio_for_echolite_is_refused_with_a_template(tmp_path):
    from engines import media
    from engines.talking_head.echolite.render import render

    media.write_wav(tmp_path / "blip.wav", np.zeros(800, dtype=np.float32), 16000)
    failure = raised(lambda: render(None, tmp_path / "blip.wav", tmp_path / "out.mp4", lambda *args: None))
    assert isinstance(failure.args[0], Message) and failure.args[0].template == "the audio is shorter than {seconds} s"
