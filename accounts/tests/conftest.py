"""Two users and one staff member on a multi-user studio (single-user mode off)."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token


@pytest.fixture
def multi_user(settings):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": False}


def _account(name, staff=False):
    user = get_user_model().objects.create_user(username=name, password=f"{name}-password", is_staff=staff, is_superuser=staff)
    return user


@pytest.fixture
def alice(db, multi_user):
    return _account("alice")


@pytest.fixture
def bob(db, multi_user):
    return _account("bob")


@pytest.fixture
def staff(db, multi_user):
    return _account("curator", staff=True)


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def as_alice(alice):
    return session_client(alice)


@pytest.fixture
def as_bob(bob):
    return token_client(bob)


@pytest.fixture
def as_staff(staff):
    return session_client(staff)


CONSENT = {"consent": "true", "consent_name": "Alice Example"}


def upload_audio(client, path, **extra):
    with open(path, "rb") as handle:
        return client.post("/api/upload-reference-audio", {"audio": handle, **CONSENT, **extra})


def upload_video(client, path, **extra):
    with open(path, "rb") as handle:
        return client.post("/api/upload-training-video", {"video": handle, **CONSENT, **extra})


def error_message(response, code):
    assert response.status_code == code, (response.status_code, response.content[:300])
    body = response.json()
    assert body["status"] == "error" and body["message"], body
    return body["message"]
