"""Password guessing: failed sign-ins from one address to one account are limited (login page and admin)."""
import time

import pytest
from django.test import Client

from echofu.tests.at_once import at_once
from limits.models import FailedSignIn

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


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_at_the_same_moment_get_no_more_password_checks_than_the_limit(alice, settings, monkeypatch):
    """Ten wrong passwords sent together, each password check a little slow: only the limit's worth are
    checked, the rest refused with 429 before their password is looked at."""
    settings.ECHOFU = {**settings.ECHOFU, "LOGIN_FAILURES": 3, "LOGIN_FAILURE_SECONDS": 900}
    user_model = type(alice)
    real_check = user_model.check_password
    checked = []

    def slow_check(user, raw_password):
        checked.append(raw_password)
        time.sleep(0.2)
        return real_check(user, raw_password)

    monkeypatch.setattr(user_model, "check_password", slow_check)
    answers = at_once([lambda guess=guess: sign_in(Client(), "/accounts/login/", "alice", f"guess {guess}").status_code
                       for guess in range(10)], timeout=60)
    assert sorted(answers, key=str) == [200] * 3 + [429] * 7, answers
    assert len(checked) == 3
    assert FailedSignIn.objects.filter(username="alice").count() == 3


def test_a_right_password_the_admin_page_refuses_is_not_counted_as_a_guess(alice, settings):
    settings.ECHOFU = {**settings.ECHOFU, "LOGIN_FAILURES": 2, "LOGIN_FAILURE_SECONDS": 900}
    for _ in range(3):  # alice is no staff member: the admin's form says no, but her password was right
        assert sign_in(Client(), "/admin/login/", "alice", "alice-password").status_code == 200
    assert not FailedSignIn.objects.exists()
    assert sign_in(Client(), "/accounts/login/", "alice", "alice-password").status_code == 302
