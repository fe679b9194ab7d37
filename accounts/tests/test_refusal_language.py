"""Who may ask is refused (no account, a bad token, a forged or foreign post, another machine in
single-user mode, a database busy past its timeout) with the contract's Chinese `message` and the
page's language as `localized_message`, as every other error; they came as both languages in one string."""
import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def english_reader(**options) -> Client:
    client = Client(**options)
    client.cookies["django_language"] = "en"
    return client


def refusal(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    return body["message"], body["localized_message"]


def test_a_request_without_an_account_or_with_a_bad_token(multi_user):
    reader = english_reader()
    assert refusal(reader.get("/api/reference-audios"), 401) == ("请先登录", "authentication required")
    assert refusal(reader.get("/api/reference-audios", HTTP_AUTHORIZATION="Token nonsense"), 401) == ("API token 无效", "invalid API token")


def test_a_signed_in_browsers_post_without_its_csrf_token(alice):
    reader = english_reader(enforce_csrf_checks=True)
    reader.force_login(alice)
    assert refusal(reader.post("/api/tasks/train_19990101_000000/cancel"), 403) == (
        "CSRF 校验失败: 表单需要 csrftoken", "CSRF check failed: the form needs the csrftoken")


def test_single_user_mode_refuses_other_machines_and_foreign_pages(settings):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}
    reader = english_reader()
    assert refusal(reader.get("/api/reference-audios", REMOTE_ADDR="192.168.1.20"), 403) == (
        "单用户模式只接受本机访问", "single-user mode serves this machine only")
    assert refusal(reader.post("/api/tasks/x/cancel", HTTP_ORIGIN="http://evil.example"), 403) == (
        "拒绝跨站请求", "cross-site request refused")


def test_a_database_busy_past_its_timeout(monkeypatch, settings):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True}

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("training.views.all_availability", locked)
    response = english_reader(raise_request_exception=False).get("/api/available-models")
    assert refusal(response, 503) == ("数据库繁忙, 请稍后重试", "the database is busy with a long write: try again shortly")
    assert response["Retry-After"] == "5"
