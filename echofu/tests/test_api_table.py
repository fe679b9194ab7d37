"""Every HTTP endpoint is listed where an integrator looks for it: README's API table and the home
page's list (echofu/api_table.py), with the methods it takes."""
import re
from pathlib import Path

from django.urls import URLPattern, get_resolver

from echofu.api_table import API_TABLE

README = Path(__file__).resolve().parents[2] / "README.md"


def _shape(route: str) -> str:
    """A route with its parameters as bare placeholders: `api/chat/turns/<int:turn_id>` and the
    documented `/api/chat/turns/<id>` are the same endpoint."""
    return "/" + re.sub(r"<[^>]*>", "<>", route.strip("/"))


def _endpoints() -> set[str]:
    # The pages and Django's own routes are named; the API's (the contract's and the additions) are not.
    return {_shape(str(pattern.pattern)) for pattern in get_resolver().url_patterns
            if isinstance(pattern, URLPattern) and pattern.name is None and not str(pattern.pattern).startswith("admin/")}


def _readme_api_table() -> set[str]:
    section = README.read_text(encoding="utf-8").split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    return {_shape(path) for path in re.findall(r"^\| (?:GET|POST) \| `([^`]+)` \|", section, flags=re.MULTILINE)}


def test_every_endpoint_is_in_the_readme_api_table():
    assert {"/video_generation", "/api/tasks/<>/cancel", "/media/<>"} <= _endpoints()  # the routes are found at all
    assert _endpoints() - _readme_api_table() == set()


def test_every_endpoint_is_in_the_home_pages_list():
    assert _endpoints() - {_shape(path) for _method, path, _what in API_TABLE} == set()
