"""An address nothing answers: a person's browser opening a page gets a page saying so, in its language, with the
way to the studio's pages; every API client, fetch() and form post keeps the contract's JSON 404."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"  # what Chromium sends for a page
JSON_404 = {"status": "error", "message": "不存在", "localized_message": "not found"}


@pytest.mark.parametrize("language, heading, lead", [("zh-hans", "页面不存在", "地址 /trainig/ 上没有页面"),
                                                     ("en", "Page not found", "There is no page at /trainig/")])
def test_a_mistyped_page_address_in_a_browser_is_a_page_linking_to_the_studio(language, heading, lead):
    browser = Client()
    browser.cookies["django_language"] = language
    response = browser.get("/trainig/", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page and lead in page
    for path in ("/voice/", "/training/", "/generate/", "/chat/"):
        assert f'class="card shortcut" href="{path}"' in page


def test_the_address_is_shown_as_text():
    page = Client().get("/<script>alert(1)</script>/", HTTP_ACCEPT=BROWSER).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("method, path, accept", [
    ("get", "/trainig/", "*/*"),  # fetch(), curl
    ("get", "/trainig/", None),  # no Accept header at all
    ("get", "/trainig/", "application/json"),  # the pages' own scripts
    ("get", "/trainig/", "application/json, text/html"),  # JSON named first
    ("get", "/api/nope", BROWSER),  # an API path, even typed into a browser
    ("get", "/api/tasks/x/nope", BROWSER),
    ("get", "/video_generation/x", BROWSER),  # under a contract endpoint
    ("get", "/media/", BROWSER),
    ("get", "/assets/nope.js", BROWSER),
    ("post", "/trainig/", BROWSER),  # a form post
    ("head", "/trainig/", BROWSER),
])
def test_anything_but_a_browser_opening_a_page_keeps_the_json_404(method, path, accept):
    reader = Client()
    reader.cookies["django_language"] = "en"
    response = getattr(reader, method)(path, **({"HTTP_ACCEPT": accept} if accept else {}))
    assert response.status_code == 404 and response["Content-Type"] == "application/json", response.content[:200]
    if method != "head":
        assert response.json() == JSON_404
