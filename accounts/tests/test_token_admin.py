"""A curator manages API tokens in the admin without reading them: a key read there would let the
curator act as its owner. The admin shows a short prefix to tell keys apart, never the key."""
import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_key(bob):
    return Token.objects.create(user=bob).key


def pages_a_curator_opens(as_staff, bob):
    return {
        "token list": as_staff.get("/admin/authtoken/tokenproxy/"),
        "token list searched": as_staff.get("/admin/authtoken/tokenproxy/", {"q": "bob"}),
        "token page": as_staff.get(f"/admin/authtoken/tokenproxy/{bob.pk}/change/"),
        "token delete page": as_staff.get(f"/admin/authtoken/tokenproxy/{bob.pk}/delete/"),
        "account delete page": as_staff.get(f"/admin/auth/user/{bob.pk}/delete/"),
    }


def test_no_admin_page_shows_a_users_key(as_staff, bob, bobs_key):
    for page, response in pages_a_curator_opens(as_staff, bob).items():
        assert response.status_code == 200, page
        assert bobs_key not in response.content.decode(), page
    assert bobs_key[:6] in as_staff.get("/admin/authtoken/tokenproxy/").content.decode()


def test_the_admin_neither_creates_nor_moves_keys_but_revokes_them(as_staff, alice, bob, bobs_key):
    """A key made there would be shown to the curator who made it: manage.py create_api_token prints it
    to the account's operator instead. A key moved to another account would act as that account."""
    assert as_staff.get("/admin/authtoken/tokenproxy/add/").status_code == 403
    as_staff.post(f"/admin/authtoken/tokenproxy/{bob.pk}/change/", {"user": alice.pk})
    assert Token.objects.get(key=bobs_key).user == bob
    assert as_staff.post(f"/admin/authtoken/tokenproxy/{bob.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Token.objects.filter(key=bobs_key).exists()
