"""Range requests on /video/ and /media/ at their edges: what browsers and download tools really send."""
import pytest

# Who may read a file is decided from the catalog rows, so every request reads the database.
pytestmark = pytest.mark.django_db

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def video(media_root):
    path = media_root / "videos/res_videos/out.mp4"
    path.write_bytes(PAYLOAD)
    return "/video/res_videos/out.mp4"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_end_past_the_file_is_cut_to_the_last_byte(client, video):
    response = client.get(video, HTTP_RANGE="bytes=10000-99999")
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 10000-10239/10240" and response["Content-Length"] == "240"
    assert body_of(response) == PAYLOAD[10000:]


def test_several_ranges_get_the_whole_file(client, video):
    # One range is all this server serves; RFC 9110 lets it ignore the header and answer 200.
    response = client.get(video, HTTP_RANGE="bytes=0-1,5-6")
    assert response.status_code == 200 and "Content-Range" not in response
    assert response["Content-Length"] == "10240" and body_of(response) == PAYLOAD


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-30000", "bytes=-0", "bytes=500-100"])
def test_unsatisfiable_ranges_are_416_with_the_size_and_the_contracts_error(client, video, header):
    client.cookies["django_language"] = "en"
    response = client.get(video, HTTP_RANGE=header)
    assert response.status_code == 416 and response["Content-Range"] == "bytes */10240"
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "error", "message": "请求的字节范围不在文件内 (文件共 10240 字节)",
                               "localized_message": "the requested byte range is outside the file (10240 bytes)"}


def test_head_gives_the_headers_without_the_body(client, video):
    whole = client.head(video)
    assert whole.status_code == 200 and whole["Content-Length"] == "10240" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Type"] == "video/mp4" and body_of(whole) == b""
    part = client.head(video, HTTP_RANGE="bytes=-10")
    assert part.status_code == 206 and part["Content-Range"] == "bytes 10230-10239/10240" and body_of(part) == b""


def test_an_empty_file_is_served_empty_and_no_range_fits_it(client, media_root):
    (media_root / "videos/res_videos/empty.mp4").write_bytes(b"")
    whole = client.get("/media/videos/res_videos/empty.mp4")
    assert whole.status_code == 200 and whole["Content-Length"] == "0" and body_of(whole) == b""
    ranged = client.get("/media/videos/res_videos/empty.mp4", HTTP_RANGE="bytes=0-")
    assert ranged.status_code == 416 and ranged["Content-Range"] == "bytes */0" and ranged.json()["status"] == "error"


@pytest.mark.parametrize("header", ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000])
def test_numbers_longer_than_any_offset_are_ignored(client, video, header):
    response = client.get(video, HTTP_RANGE=header)
    assert response.status_code == 200 and body_of(response) == PAYLOAD
