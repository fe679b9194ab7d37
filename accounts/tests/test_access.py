"""Accounts through the HTTP API: who may list, use and download what (two users and staff)."""
import io
import json
import os
import subprocess
import sys
import types

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.tests.conftest import CONSENT, error_message, upload_audio, upload_video
from assets.models import ReferenceAudio, TrainingVideo
from echofu import ownership
from echofu.gunicorn_conf import on_starting
from monitoring import runner
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def test_anonymous_requests_need_an_account(multi_user, client):
    assert error_message(client.get("/api/reference-audios"), 401)
    assert error_message(client.get("/api/engines"), 401)  # it names the servers configured
    assert error_message(client.post("/video_generation", {"model_name": "EchoLite"}), 401)
    assert error_message(client.get("/media/voices/ref_voices/x.wav"), 401)
    for path in ("/", "/voice/", "/training/", "/generate/", "/chat/"):  # every page a browser may open (a bookmark, a reload)
        page = client.get(path)
        assert page.status_code == 302 and page["Location"] == f"/accounts/login/?next={path}", path
    assert client.get("/accounts/login/").status_code == 200
    # A mistyped address opened in a browser asks for the login too (its 404 page comes after it); a script gets the 401.
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    mistyped = client.get("/trainig/", HTTP_ACCEPT=browser_accept)
    assert mistyped.status_code == 302 and mistyped["Location"] == "/accounts/login/?next=/trainig/"
    assert error_message(client.get("/trainig/", HTTP_ACCEPT="*/*"), 401)
    assert error_message(client.get("/api/nope", HTTP_ACCEPT=browser_accept), 401)


def test_session_login_and_csrf_on_forms(alice, wav_file):
    browser = Client(enforce_csrf_checks=True)
    login_page = browser.get("/accounts/login/")
    token = login_page.cookies["csrftoken"].value
    assert browser.post("/accounts/login/", {"username": "alice", "password": "alice-password"}).status_code == 403  # no token
    response = browser.post("/accounts/login/", {"username": "alice", "password": "alice-password", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert browser.get("/api/reference-audios").json()["total_count"] == 0
    # A signed-in browser's POST without the CSRF token is refused, with it accepted.
    assert "CSRF" in error_message(upload_audio(browser, wav_file), 403)
    assert ReferenceAudio.objects.count() == 0
    token = browser.cookies["csrftoken"].value
    with open(wav_file, "rb") as handle:
        response = browser.post("/api/upload-reference-audio", {"audio": handle, **CONSENT}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content


def test_a_signed_in_browser_can_sign_out_from_the_pages(alice, settings):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get("/voice/").content.decode()
    assert 'action="/accounts/logout/"' in page and 'title="alice"' in page and "退出登录" in page
    token = browser.cookies["csrftoken"].value
    assert browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert browser.get("/voice/").status_code == 302  # to the login again
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    assert "/accounts/logout/" not in Client().get("/voice/").content.decode()  # no login, nothing to sign out of


def test_browsers_sign_in_through_a_tls_proxy_when_told_it_is_there(alice, settings):
    script = "import echofu.settings as s; print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "echofu.settings", "ECHOFU_HTTPS_PROXY": "true"}
    read = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert read.stdout.split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "True", "True"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="studio.example.com", HTTP_X_FORWARDED_PROTO="https")
    token = browser.get("/accounts/login/").cookies["csrftoken"].value
    signed_in = browser.post("/accounts/login/", {"username": "alice", "password": "alice-password", "csrfmiddlewaretoken": token},
                             HTTP_ORIGIN="https://studio.example.com")
    assert signed_in.status_code == 302 and browser.get("/api/reference-audios").status_code == 200


def test_api_token_from_the_management_command(alice, wav_file):
    out = io.StringIO()
    call_command("create_api_token", "alice", stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40
    script = Client(HTTP_AUTHORIZATION=f"Token {key}")  # no CSRF token needed: a script, not a browser
    assert upload_audio(script, wav_file).status_code == 200
    assert ReferenceAudio.objects.get().owner == alice
    assert error_message(Client(HTTP_AUTHORIZATION="Token wrong").get("/api/reference-audios"), 401)
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=io.StringIO())
    call_command("create_api_token", "newbot", "--create", stdout=io.StringIO())
    for bad in ("", "bad name/ü"):
        with pytest.raises(CommandError, match="cannot create user"):
            call_command("create_api_token", bad, "--create", stdout=io.StringIO())


def test_users_list_and_use_only_their_own(as_alice, as_bob, as_staff, alice, wav_file, plain_video, media_root):
    audio = upload_audio(as_alice, wav_file).json()
    video = upload_video(as_alice, plain_video).json()
    assert as_alice.get("/api/reference-audios").json()["total_count"] == 1
    assert as_alice.get("/api/training-videos").json()["total_count"] == 1
    for listing in ("/api/reference-audios", "/api/training-videos", "/api/cloned-audios", "/api/available-models"):
        assert as_bob.get(listing).json()["total_count"] == 0, listing
    # Bob cannot use Alice's files in any form.
    message = error_message(as_bob.post("/model_training", {"model_choice": "EchoLite", "ref_video": video["relative_path"]}), 400)
    assert "素材库" in message
    assert error_message(as_bob.post("/audio_clone", {"original_audio_path": audio["relative_path"], "target_audio_id": "x"}), 400)
    # Nor download them; Alice and staff can.
    url = "/" + audio["relative_path"]
    assert error_message(as_bob.get(url), 404)
    assert as_alice.get(url).status_code == 200
    assert as_staff.get(url).status_code == 200
    assert error_message(as_bob.get("/video/ref_videos/" + video["filename"]), 404)


def test_a_new_upload_does_not_take_the_name_of_a_row_whose_file_was_removed(as_alice, as_bob, wav_file, tmp_path, media_root):
    """An upload's file removed by hand to save space keeps its row (scan_media keeps one that models or
    voices rest on): the next file of that name, another user's, got the same path, and with it the
    old row's owner could list, download and clone from it."""
    alices = upload_audio(as_alice, wav_file).json()["relative_path"]
    (media_root / alices.removeprefix("media/")).unlink()
    bobs = tmp_path / "bob" / wav_file.name
    bobs.parent.mkdir()
    bobs.write_bytes(wav_file.read_bytes())
    stored = upload_audio(as_bob, bobs).json()["relative_path"]
    assert stored != alices and stored.startswith("media/voices/ref_voices/")
    assert as_alice.get("/api/reference-audios").json()["total_count"] == 0
    assert error_message(as_alice.get("/" + stored), 404)
    assert as_bob.get("/" + stored).status_code == 200


def test_jobs_models_and_history_are_private(as_alice, as_bob, as_staff, alice, media_root):
    job = runner.new_job(Job.Kind.TRAIN, {}, owner=alice, prefix="train")
    (media_root / "models/EchoLite/alice_model").mkdir(parents=True)
    (media_root / "models/EchoLite/alice_model/weights.safetensors").write_bytes(b"x" * 10)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="alice_model", owner=alice, file_count=1)
    for path in (f"/api/tasks/{job.pk}", f"/api/train-status/{job.pk}", "/api/model-details/EchoLite/alice_model",
                 "/media/models/EchoLite/alice_model/weights.safetensors", "/api/model-details/EchoLite/root"):
        assert error_message(as_bob.get(path), 404), path
        assert as_alice.get(path).status_code == 200 or path.endswith("root"), path
    assert error_message(as_bob.post(f"/api/tasks/{job.pk}/cancel"), 404)
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
    assert as_staff.get(f"/api/tasks/{job.pk}").status_code == 200
    assert as_staff.get("/api/model-details/EchoLite/root").status_code == 200
    assert as_alice.get("/api/available-models").json()["total_count"] == 1
    assert [entry["task_id"] for entry in as_alice.get("/api/history/model_training").json()] == [job.pk]
    assert as_bob.get("/api/history/model_training").json() == []
    assert as_alice.post(f"/api/tasks/{job.pk}/cancel").status_code == 200


def test_chat_answers_play_for_their_owner_only(as_alice, as_bob, alice, plain_video, wav_file, media_root):
    from chat.models import Conversation, Turn

    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice), input_text="hi", status=Turn.Status.SUCCEEDED)
    files = {"reply_video": f"videos/res_videos/chat_m_{turn.pk}.mp4", "reply_audio": f"voices/res_voices/chat_m_{turn.pk}.wav",
             "user_audio": f"{turn.folder}/question.wav", "segment": f"{turn.folder}/segments/01.mp4"}
    for field, relative in files.items():
        (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
        (media_root / relative).write_bytes((wav_file if relative.endswith(".wav") else plain_video).read_bytes())
        if field != "segment":
            setattr(turn, field, relative)
    turn.segments = [{"index": 1, "video_path": f"media/{files['segment']}"}]
    turn.save()
    urls = [f"/media/{relative}" for relative in files.values()] + [f"/video/res_videos/chat_m_{turn.pk}.mp4"]
    for url in urls:
        assert as_alice.get(url).status_code == 200, url
        assert error_message(as_bob.get(url), 404), url


def test_staff_see_everything_in_the_admin(as_alice, as_staff, wav_file):
    upload_audio(as_alice, wav_file)
    page = as_staff.get("/admin/assets/referenceaudio/")
    assert page.status_code == 200 and "声音 sample.wav" in page.content.decode()
    assert as_alice.get("/admin/assets/referenceaudio/").status_code == 302  # not staff: the admin login


def test_single_user_mode_serves_loopback_without_login(settings, client, wav_file):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    with open(wav_file, "rb") as handle:  # the original frontend: no login, no consent fields, no CSRF token
        assert client.post("/api/upload-reference-audio", {"audio": handle}).status_code == 200
    row = ReferenceAudio.objects.get()
    assert row.owner.username == settings.ECHOFU["SINGLE_USER_NAME"] and row.consent_method == "setting"
    assert error_message(client.get("/api/reference-audios", REMOTE_ADDR="192.168.1.20"), 403)
    assert client.get("/api/reference-audios", REMOTE_ADDR="").status_code == 200  # gunicorn bound to unix:/path.sock
    token = Token.objects.create(user=ownership.local_user()).key  # an API token does not open it to other machines either
    assert error_message(client.get("/api/reference-audios", REMOTE_ADDR="192.168.1.20", HTTP_AUTHORIZATION=f"Token {token}"), 403)
    assert client.get("/api/reference-audios", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    with open(wav_file, "rb") as handle:  # a foreign web page posting to the local studio
        refused = client.post("/api/upload-reference-audio", {"audio": handle}, HTTP_ORIGIN="http://evil.example")
    assert error_message(refused, 403)
    assert ReferenceAudio.objects.count() == 1


@pytest.mark.parametrize("forwarded", [{"HTTP_X_FORWARDED_FOR": "203.0.113.5"}, {"HTTP_FORWARDED": "for=203.0.113.5;proto=https"},
                                       {"HTTP_X_REAL_IP": "203.0.113.5"}])
def test_single_user_mode_refuses_what_a_proxy_on_this_machine_forwards(settings, client, wav_file, forwarded):
    # nginx on the same machine connects from loopback: the headers it adds say the browser is elsewhere.
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    assert "只接受本机访问" in error_message(client.get("/api/reference-audios", **forwarded), 403)
    with open(wav_file, "rb") as handle:
        assert error_message(client.post("/api/upload-reference-audio", {"audio": handle}, **forwarded), 403)
    assert not ReferenceAudio.objects.exists()
    assert client.get("/api/reference-audios").status_code == 200


def test_single_user_studio_stays_the_local_account_after_signing_in_to_the_admin(settings, wav_file):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    browser = Client(enforce_csrf_checks=True)
    with open(wav_file, "rb") as handle:
        assert browser.post("/api/upload-reference-audio", {"audio": handle}).status_code == 200
    browser.force_login(get_user_model().objects.create_superuser("operator", "op@example.com", "pw"))
    assert browser.get("/admin/assets/referenceaudio/").status_code == 200
    # The original frontend in the same browser: the local account's files, its consent setting, no CSRF token.
    assert browser.get("/api/reference-audios").json()["total_count"] == 1
    with open(wav_file, "rb") as handle:
        assert browser.post("/api/upload-reference-audio", {"audio": handle}).status_code == 200
    assert {row.owner.username for row in ReferenceAudio.objects.all()} == {settings.ECHOFU["SINGLE_USER_NAME"]}
    with open(wav_file, "rb") as handle:  # still no cross-site posts
        assert error_message(browser.post("/api/upload-reference-audio", {"audio": handle}, HTTP_ORIGIN="http://evil.example"), 403)


def test_single_user_account_is_looked_up_once_and_forgotten_when_it_changes(settings, client, django_assert_num_queries):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    assert client.get("/api/training-videos").status_code == 200
    with django_assert_num_queries(1):  # the listing itself; the account comes from this process's copy
        assert client.get("/api/training-videos").json()["total_count"] == 0
    ownership.local_user().delete()  # e.g. from the admin: the next request makes the account again, not a deleted row
    assert client.get("/api/training-videos").status_code == 200
    assert get_user_model().objects.filter(pk=ownership.local_user().pk, username=settings.ECHOFU["SINGLE_USER_NAME"]).exists()


@pytest.mark.parametrize("address", ["0.0.0.0:8000", "192.168.1.5:8000", "[::]:8000", "example.com:80"])
def test_single_user_mode_refuses_to_listen_on_other_addresses(settings, address):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    with pytest.raises(CommandError, match="loopback"):
        call_command("runserver", address, use_reloader=False)
    with pytest.raises(CommandError, match="loopback"):
        call_command("check_bind", address, stdout=io.StringIO())
    with pytest.raises(RuntimeError, match="loopback"):
        on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=[address])))


@pytest.mark.parametrize("address", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "unix:/run/echofu.sock"])
def test_loopback_addresses_are_allowed(settings, address):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    out = io.StringIO()
    call_command("check_bind", address, stdout=out)
    assert "ok" in out.getvalue()
    on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=[address])))


def test_multi_user_mode_may_listen_anywhere_with_its_own_secret_key(multi_user, settings):
    settings.SECRET_KEY = "a key of this deployment's own, long and random enough: 5f0c2e9b7d41a8"
    call_command("check_bind", "0.0.0.0:8000", stdout=io.StringIO())
    on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=["0.0.0.0:8000"])))


@pytest.mark.parametrize("address", ["0.0.0.0:8000", "127.0.0.1:8000"])  # loopback too: behind a proxy others reach it
def test_multi_user_mode_refuses_the_built_in_secret_key(multi_user, settings, address):
    assert settings.SECRET_KEY == settings.LOCAL_ONLY_SECRET_KEY
    with pytest.raises(CommandError, match="ECHOFU_SECRET_KEY"):
        call_command("check_bind", address, stdout=io.StringIO())
    with pytest.raises(RuntimeError, match="ECHOFU_SECRET_KEY"):
        on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=[address])))


def test_the_deployment_check_reports_the_built_in_secret_key_in_multi_user_mode(multi_user, settings):
    """`manage.py check --deploy` is what an operator runs before serving others (an upgraded installation
    among them, whose earlier release let multi-user mode run on the published key)."""
    assert settings.SECRET_KEY == settings.LOCAL_ONLY_SECRET_KEY
    # Only the security checks: the browser tests' process allows Django's async-unsafe calls, which
    # the deployment check would report too.
    with pytest.raises(SystemCheckError, match="ECHOFU_SECRET_KEY"):
        call_command("check", deploy=True, tags=["security"], stdout=io.StringIO(), stderr=io.StringIO())
    settings.SECRET_KEY = "a key of this deployment's own, long and random enough: 5f0c2e9b7d41a8"
    call_command("check", deploy=True, tags=["security"], fail_level="ERROR", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize("weak_key", ["   ", "\t\n", "short-but-mine-42", "a" * 80, " " * 30 + "abcd" * 5 + " " * 30])
def test_multi_user_mode_refuses_a_blank_short_or_plain_secret_key(multi_user, settings, weak_key):
    """A key anyone could guess signs cookies and job tasks as badly as the published one; before, only
    Django's W009 in `check --deploy` named it and the server started on it."""
    settings.SECRET_KEY = weak_key
    with pytest.raises(CommandError, match="secrets.token_urlsafe"):
        call_command("check_bind", "127.0.0.1:8000", stdout=io.StringIO())
    with pytest.raises(RuntimeError, match="ECHOFU_SECRET_KEY"):
        on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=["127.0.0.1:8000"])))
    with pytest.raises(SystemCheckError, match="echofu.E001"):
        call_command("check", deploy=True, tags=["security"], stdout=io.StringIO(), stderr=io.StringIO())


def test_single_user_mode_keeps_serving_on_any_key(settings):
    settings.SECRET_KEY = "   "
    call_command("check_bind", "127.0.0.1:8000", stdout=io.StringIO())


def test_a_video_and_its_check_belong_to_the_uploader(as_alice, as_bob, alice, plain_video):
    probe = upload_video(as_alice, plain_video).json()["probe_task_id"]
    assert TrainingVideo.objects.get().owner == alice
    assert json.loads(as_alice.get("/api/training-videos").content)["files"][0]["probe_status"] == "ok"
    # The training page follows the check by its task id.
    assert as_alice.get(f"/api/tasks/{probe}").json()["state"] == "succeeded"
    assert error_message(as_bob.get(f"/api/tasks/{probe}"), 404)


def test_the_login_page_switches_language_without_an_account(multi_user, db):
    browser = Client(enforce_csrf_checks=True)
    login_page = browser.get("/accounts/login/")
    assert b'action="/i18n/setlang/"' in login_page.content and '<html lang="zh-CN">' in login_page.content.decode()
    switch = {"language": "en", "next": "/accounts/login/?next=/chat/"}
    assert browser.post("/i18n/setlang/", switch).status_code == 403  # Django's CSRF check still applies
    switched = browser.post("/i18n/setlang/", {**switch, "csrfmiddlewaretoken": login_page.cookies["csrftoken"].value})
    assert switched.status_code == 302 and switched["Location"] == "/accounts/login/?next=/chat/"
    assert browser.cookies["django_language"].value == "en"
    english = browser.get("/accounts/login/?next=/chat/").content.decode()
    assert '<html lang="en">' in english and "Sign in" in english and "登录" not in english


@pytest.mark.parametrize("page", ["/", "/voice/", "/training/", "/generate/", "/chat/"])
def test_the_pages_link_to_the_admin_only_for_staff(as_alice, as_staff, page):
    # Behind the footer's "Admin", the job queue's "All jobs" and chat's "personas and knowledge"
    # a studio user who is not staff finds only the admin's "not authorized" page.
    assert 'href="/admin/' not in as_alice.get(page).content.decode()
    assert 'href="/admin/"' in as_staff.get(page).content.decode()


def test_the_chat_page_tells_who_sets_the_persona(as_alice, as_staff):
    as_alice.cookies["django_language"] = as_staff.cookies["django_language"] = "en"
    assert "are set by the studio's staff." in as_alice.get("/chat/").content.decode()
    assert 'href="/admin/chat/"' in as_staff.get("/chat/").content.decode()
    assert 'href="/admin/monitoring/job/"' in as_staff.get("/").content.decode()
