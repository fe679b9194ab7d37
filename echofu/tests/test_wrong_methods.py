"""A method an endpoint does not take is a 405 in the error shape, also where Django's CSRF check
would have answered first (unsafe methods sent to read-only endpoints, as curl sends them); a
failure nobody expected is a 500 in the same shape."""
import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

READ_ONLY = ["/api/status", "/api/tasks", "/api/tasks/train_19990101_000000", "/api/training-videos", "/api/reference-audios",
             "/api/cloned-audios", "/api/available-models", "/api/engines", "/api/history/x", "/video/x.mp4", "/media/x.mp4"]


@pytest.mark.parametrize("path", READ_ONLY)
@pytest.mark.parametrize("method", ["post", "delete", "put", "patch"])
def test_unsafe_methods_on_read_only_endpoints_are_json_405(path, method):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405 and response["Content-Type"] == "application/json", response.content[:200]
    assert response.json() == {"status": "error", "message": f"不支持 {method.upper()} 方法, 请使用 {response['Allow']}",
                               "localized_message": f"不支持 {method.upper()} 方法, 请使用 {response['Allow']}"}
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/status", "/api/tasks", "/api/reference-audios", "/api/available-models"])
def test_head_is_answered_like_get_without_a_body(path):
    """HEAD is what monitors and `curl -I` send; the original Flask backend answered it."""
    response = Client().head(path)
    assert response.status_code == 200 and response["Content-Type"] == "application/json" and response.content == b""


# The legacy frontend's forms and the additions that change something.
POST_ONLY = ["/api/upload-reference-audio", "/api/upload-training-video", "/save_audio", "/video_generation", "/model_training",
             "/audio_clone", "/chat_system", "/api/tasks/train_19990101_000000/cancel", "/api/verify-media"]


@pytest.mark.parametrize("path", POST_ONLY)
def test_reading_an_endpoint_that_takes_only_post_is_json_405(path):
    response = Client().get(path)
    assert response.status_code == 405 and response["Allow"] == "POST", response.content[:200]
    assert response.json() == {"status": "error", "message": "不支持 GET 方法, 请使用 POST", "localized_message": "不支持 GET 方法, 请使用 POST"}


def test_a_wrong_method_is_named_in_chinese_and_in_the_pages_language():
    reader = Client()
    reader.cookies["django_language"] = "en"
    response = reader.delete("/api/tasks/nothing")
    assert response.status_code == 405
    assert response.json() == {"status": "error", "message": "不支持 DELETE 方法, 请使用 GET, HEAD",
                               "localized_message": "method DELETE not allowed; use GET, HEAD"}


def test_an_unknown_address_and_an_unexpected_failure_are_said_in_chinese_and_in_the_pages_language(monkeypatch):
    from echofu import views

    reader = Client(raise_request_exception=False)
    reader.cookies["django_language"] = "en"
    missing = reader.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.json() == {"status": "error", "message": "不存在", "localized_message": "not found"}
    request = reader.get("/api/status").wsgi_request
    failure = views.server_error(request)
    assert failure.status_code == 500
    assert json.loads(failure.content) == {"status": "error", "message": "服务器内部错误", "localized_message": "internal server error"}


def test_endpoints_that_change_state_still_need_the_csrf_token_of_a_signed_in_browser(django_user_model, settings):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": False}  # single-user mode ignores sessions; its posts are checked by Origin
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.create_user("bea", password="pw"))
    for path in ("/api/tasks/train_19990101_000000/cancel", "/model_training", "/api/upload-reference-audio"):
        response = browser.post(path)
        assert response.status_code == 403 and "CSRF" in response.json()["message"], path


def test_an_unexpected_failure_answers_in_the_error_shape(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("training.views.all_availability", broken)
    response = Client(raise_request_exception=False).get("/api/available-models")
    assert response.status_code == 500 and response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == "error" and response.json()["message"]
