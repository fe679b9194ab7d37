"""`?download=1` on /media/ and /video/: a rendered video saved under a name its user recognises
(person-version-local time, from its provenance), not its stored render file name."""
from datetime import datetime, timezone as tz
from urllib.parse import quote

import pytest
from django.utils import timezone

from chat.tests.conftest import QuickRenderer
from echofu.serving import serve_file
from generation.models import GeneratedVideo
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

PAYLOAD = bytes(range(256)) * 8
MADE_AT = datetime(2026, 12, 7, 6, 5, 30, tzinfo=tz.utc)  # 14:05 in the server's zone (ECHOFU_TIME_ZONE, Asia/Shanghai)


def rendered(media_root, name: str, person: str, version: int = 1) -> str:
    """A render of `person`'s model stored as videos/res_videos/<name>, made at MADE_AT; its media-relative path."""
    relative = f"videos/res_videos/{name}"
    (media_root / relative).write_bytes(PAYLOAD)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name=f"{person}_{version}", person=person, version=version)
    ProvenanceRecord.objects.create(request_id="render_1", kind=ProvenanceRecord.Kind.VIDEO, file=relative, sha256="0" * 64,
                                    model=model, created_at=MADE_AT)
    return relative


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("url", ["/media/videos/res_videos/m1_20261207_140530.mp4", "/video/res_videos/m1_20261207_140530.mp4"])
def test_a_render_asked_as_a_download_is_named_by_person_version_and_local_time(client, media_root, url):
    stored = rendered(media_root, "m1_20261207_140530.mp4", "小明")
    response = client.get(url + "?download=1")
    assert response.status_code == 200 and body_of(response) == PAYLOAD
    # An ASCII stand-in for curl -OJ and other clients that ignore RFC 5987, then the UTF-8 name percent-encoded
    assert response["Content-Disposition"] == ('attachment; filename="Xiaoming-v1-2026-12-07-1405.mp4"; '
                                               "filename*=utf-8''%E5%B0%8F%E6%98%8E-v1-2026-12-07-1405.mp4")
    assert (media_root / stored).read_bytes() == PAYLOAD  # stored under its own name, untouched
    ranged = client.get(url + "?download=1", HTTP_RANGE="bytes=0-9")  # a download tool resuming
    assert ranged.status_code == 206 and ranged["Content-Disposition"] == response["Content-Disposition"]


@pytest.mark.parametrize("name, fallback", [
    ("小明-v1-2026-12-07-1405.mp4", "Xiaoming-v1-2026-12-07-1405.mp4"),  # Chinese in pinyin, a name one word
    ("重庆银行-v1.mp4", "Chongqingyinhang-v1.mp4"),  # read as a whole: 重 of 重庆 is chong, alone zhong
    ('say "hi" \\ bye.mp4', "say hi  bye.mp4"),  # a quote or backslash would end or escape the quoted name
    ("Zoë\tN.mp4", "ZoeN.mp4"),  # accents spelled without, control characters gone
    ("讲解员 Anna.mp4", "Jiangjieyuan Anna.mp4"),
    ("Привет.mp4", "_.mp4"),  # a script with no ASCII spelling here
    ("张／李：Q＆A.mp4", "Zhang_Li_Q&A.mp4"),  # full-width forms spelled "/" and ":" would be a path or a refused name
])
def test_a_download_name_that_is_not_plain_ascii_comes_with_an_ascii_stand_in(name, fallback, media_root, rf):
    """Clients that read only `filename=` (curl -OJ, browsers without RFC 5987) save under the stand-in,
    with the extension kept; the others under the exact name."""
    (media_root / "videos/res_videos/x.mp4").write_bytes(PAYLOAD)
    response = serve_file(rf.get("/"), media_root / "videos/res_videos/x.mp4", attachment_name=name)
    assert response["Content-Disposition"] == f'attachment; filename="{fallback}"; filename*=utf-8\'\'{quote(name, safe="")}'


def test_without_download_a_render_plays_inline(client, media_root):
    rendered(media_root, "m1_a.mp4", "小明")
    for query in ("", "?download=0"):
        response = client.get("/media/videos/res_videos/m1_a.mp4" + query)
        assert response.status_code == 200 and "Content-Disposition" not in response


def test_characters_a_file_name_cannot_hold_are_replaced(client, media_root):
    rendered(media_root, "m1_b.mp4", 'A/B: "C"?', version=2)
    response = client.get("/media/videos/res_videos/m1_b.mp4?download=1")
    assert response["Content-Disposition"] == 'attachment; filename="A_B_ _C__-v2-2026-12-07-1405.mp4"'


def test_an_invisible_direction_override_cannot_disguise_the_extension(client, media_root):
    rendered(media_root, "m1_c.mp4", "anna\u202egpj.exe")
    response = client.get("/media/videos/res_videos/m1_c.mp4?download=1")
    assert response["Content-Disposition"] == 'attachment; filename="anna_gpj.exe-v1-2026-12-07-1405.mp4"'


def test_a_path_made_again_goes_by_its_newest_video_even_once_that_ones_model_is_deleted(client, media_root):
    stored = rendered(media_root, "m1_d.mp4", "anna")
    newer = TalkingHeadModel.objects.create(model_type="EchoLite", name="bob_1", person="bob", version=1)
    ProvenanceRecord.objects.create(request_id="render_2", kind=ProvenanceRecord.Kind.VIDEO, file=stored, sha256="1" * 64,
                                    model=newer, created_at=MADE_AT.replace(hour=7))
    url = "/media/videos/res_videos/m1_d.mp4?download=1"
    assert client.get(url)["Content-Disposition"] == 'attachment; filename="bob-v1-2026-12-07-1505.mp4"'
    newer.delete()  # the record stays, without its model: the file is bob's video, not anna's
    assert client.get(url)["Content-Disposition"] == 'attachment; filename="m1_d.mp4"'


def test_a_file_no_model_is_known_for_downloads_under_its_stored_name(client, media_root):
    (media_root / "videos/res_videos/scanned.mp4").write_bytes(PAYLOAD)  # found on disk by scan_media: no provenance
    response = client.get("/media/videos/res_videos/scanned.mp4?download=1")
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="scanned.mp4"'


def test_a_missing_file_asked_as_a_download_is_the_same_404(client, media_root):
    for url in ("/video/res_videos/none.mp4", "/media/videos/res_videos/none.mp4"):
        plain, download = client.get(url), client.get(url + "?download=1")
        assert download.status_code == plain.status_code == 404 and "Content-Disposition" not in download
        assert download.json() == plain.json() and download.json()["status"] == "error" and download.json()["message"]


def test_a_render_gives_its_download_name_to_its_job_its_history_entry_and_the_download(client, model, reference, media_root,
                                                                                       monkeypatch):
    monkeypatch.setattr("generation.jobs.get_engine", lambda model_type: QuickRenderer())
    TalkingHeadModel.objects.filter(pk=model.pk).update(person="讲解员", version=3)
    body = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1",
                                             "ref_audio": "media/voices/ref_voices/ref.wav"}).json()
    assert body["status"] == "success", body
    video = GeneratedVideo.objects.get()
    record = ProvenanceRecord.objects.get(file=video.file.name)
    expected = f"讲解员-v3-{timezone.localtime(record.created_at):%Y-%m-%d-%H%M}.mp4"
    assert video.filename != expected  # the stored name stays the render's own
    assert Job.objects.get(pk=body["task_id"]).result["download_name"] == expected
    assert client.get(f"/api/tasks/{body['task_id']}").json()["result"]["download_name"] == expected
    [entry] = client.get("/api/history/video_generation").json()
    assert entry["download_name"] == expected and entry["video_path"] == body["video_path"]
    served = client.get("/" + body["video_path"] + "?download=1")
    assert served["Content-Disposition"].endswith("''" + quote(expected))
