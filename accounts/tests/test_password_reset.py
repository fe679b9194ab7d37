"""/accounts/password_reset/: a reset link by email only where the studio can send mail."""
import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_email(alice):
    alice.email = "alice@example.org"
    alice.save()
    return alice


def test_without_mail_the_page_says_so_and_how_an_administrator_resets_a_password(alice_with_email, settings):
    settings.EMAIL_HOST = ""  # the default: no ECHOFU_EMAIL_HOST
    browser = Client()
    page = browser.get("/accounts/password_reset/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "manage.py changepassword" in text and 'name="email"' not in text  # no form promising an email
    # A reset asked for anyway sends nothing, and answers the same whether the account exists or not.
    known = browser.post("/accounts/password_reset/", {"email": "alice@example.org"})
    unknown = browser.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200 and known.content == unknown.content
    assert "manage.py changepassword" in known.content.decode()
    assert mail.outbox == []


def test_the_page_is_in_the_visitors_language(multi_user, settings):
    settings.EMAIL_HOST = ""
    chinese = Client().get("/accounts/password_reset/").content.decode()
    assert "本工作室不发送电子邮件" in chinese and "<title>密码重设 |" in chinese
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "This studio sends no email" in english.get("/accounts/password_reset/").content.decode()


def test_with_mail_configured_a_reset_link_is_sent(alice_with_email, settings):
    settings.EMAIL_HOST = "smtp.example.org"
    browser = Client()
    assert 'name="email"' in browser.get("/accounts/password_reset/").content.decode()
    sent = browser.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert sent.status_code == 302 and sent["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.org"]


def test_the_sign_in_page_leads_to_the_reset_page(multi_user):
    browser = Client()
    browser.cookies["django_language"] = "en"
    page = browser.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password_reset/">Forgot your password?</a>' in page
    assert "studio/studio.css" in page  # the studio's look, not the browser's bare form
