"""Why an engine cannot run here, as each account reads it: the server's paths (an ER-NeRF checkout, a
weights folder) for those who run it, not for the other accounts of a multi-user studio."""
import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.conftest import error_message
from assets.models import TrainingVideo
from echofu import availability

pytestmark = pytest.mark.django_db

ERNERF_CHECKOUT = "/srv/echofu-private/checkouts/ER-NeRF"


@pytest.fixture(autouse=True)
def engines_configured_elsewhere(settings, tmp_path):
    """XTTS weights and an ER-NeRF checkout configured in server folders, neither usable."""
    xtts = tmp_path / "srv-weights" / "xtts"
    xtts.mkdir(parents=True)
    settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": str(xtts), "ERNERF_DIR": ERNERF_CHECKOUT}
    availability._answers.clear()
    yield xtts
    availability._answers.clear()


def listed_reasons(client) -> dict:
    client.cookies["django_language"] = "en"
    speech = client.get("/api/engines").json()["speech_engines"]
    talking_heads = client.get("/api/available-models").json()["engines"]
    return {row["name"]: row["reason"] for row in speech} | {row["type"]: row["reason"] for row in talking_heads}


def refusals(client, owner, media_root) -> dict:
    """The 400 answers that say why an engine cannot run: /audio_clone with it, /model_training with it."""
    client.cookies["django_language"] = "en"
    (media_root / "videos/ref_videos/person.mp4").write_bytes(b"checked already: the row says so")
    video = TrainingVideo.objects.create(
        owner=owner, file="videos/ref_videos/person.mp4", original_name="person.mp4", size=1,
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="person", consent_wording="test statement", consent_at=timezone.now(),
    )
    speak = client.post("/audio_clone", {"generate_text": "hello there", "engine": "xtts", "audio_id": "nobody"})
    train = client.post("/model_training", {"model_choice": "ER-NeRF", "ref_video": f"media/{video.file}"})
    error_message(speak, 400), error_message(train, 400)
    return {"xtts": speak.json()["localized_message"], "ER-NeRF": train.json()["localized_message"]}


def test_an_account_reads_why_an_engine_cannot_run_without_the_servers_paths(as_alice, alice, media_root, engines_configured_elsewhere):
    reasons = listed_reasons(as_alice)
    assert reasons["xtts"] == "XTTS-v2 model directory …/xtts lacks config.json, model.pth, vocab.json"
    assert reasons["ER-NeRF"] == "ER-NeRF checkout not found at …/ER-NeRF (set ECHOFU_ERNERF_DIR)"
    refused = refusals(as_alice, alice, media_root)
    assert refused["xtts"] == "engine: speech engine XTTS-v2 cannot run here: XTTS-v2 model directory …/xtts lacks config.json, model.pth, vocab.json"
    assert refused["ER-NeRF"] == "ER-NeRF checkout not found at …/ER-NeRF (set ECHOFU_ERNERF_DIR)"
    shown = " ".join([*reasons.values(), refused["xtts"], refused["ER-NeRF"]])
    assert str(engines_configured_elsewhere.parent) not in shown and "/srv/" not in shown


@pytest.mark.parametrize("who", ["staff", "single-user mode's local account"])
def test_who_runs_the_server_reads_the_whole_reason(who, request, media_root, engines_configured_elsewhere):
    if who == "staff":
        client, owner = request.getfixturevalue("as_staff"), request.getfixturevalue("staff")
    else:
        client, owner = Client(), None
    reasons = listed_reasons(client)
    assert str(engines_configured_elsewhere) in reasons["xtts"]
    assert reasons["ER-NeRF"] == f"ER-NeRF checkout not found at {ERNERF_CHECKOUT} (set ECHOFU_ERNERF_DIR)"
    refused = refusals(client, owner, media_root)
    assert str(engines_configured_elsewhere) in refused["xtts"] and ERNERF_CHECKOUT in refused["ER-NeRF"]
