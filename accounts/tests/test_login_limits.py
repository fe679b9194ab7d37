"""Password guessing: failed sign-ins from one address to one account are limited (login page and admin)."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def sign_in(client: Client, path: str, username: str, password: str, address: str = "198.51.100.7"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_repeated_wrong_passwords_stop_even_the_right_one_for_a_while(alice, staff, settings, path):
    settings.ECHOFU = {**settings.ECHOFU, "LOGIN_FAILURES": 3, "LOGIN_FAILURE_SECONDS": 900}
    user = staff if path.startswith("/admin/") else alice
    guesser = Client()
    for guess in ("123456", "password", "qwerty"):
        assert sign_in(guesser, path, user.username, guess).status_code == 200  # the form again, with its error
    refused = sign_in(guesser, path, user.username, f"{user.username}-password")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "请 15 分钟后再试" in refused.content.decode()  # said on the form, not the usual "wrong password"
    assert "_auth_user_id" not in guesser.session
    # Another address, or another account from this one, is not held up by these guesses.
    assert sign_in(Client(), path, user.username, f"{user.username}-password", address="203.0.113.9").status_code == 302
    assert sign_in(Client(), "/accounts/login/", "bob", "wrong").status_code == 200


def test_a_successful_sign_in_forgets_the_earlier_failures(alice, settings):
    settings.ECHOFU = {**settings.ECHOFU, "LOGIN_FAILURES": 3, "LOGIN_FAILURE_SECONDS": 900}
    for _ in range(2):
        assert sign_in(Client(), "/accounts/login/", "alice", "typo").status_code == 200
    assert sign_in(Client(), "/accounts/login/", "alice", "alice-password").status_code == 302
    for _ in range(2):
        assert sign_in(Client(), "/accounts/login/", "alice", "typo").status_code == 200
    assert sign_in(Client(), "/accounts/login/", "alice", "alice-password").status_code == 302
