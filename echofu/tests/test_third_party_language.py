"""The texts of the packages the studio runs on read in Chinese too: django-q2's admin pages (its own zh_Hans
catalog leaves their field names, help texts and columns in English), and the few texts Django and DRF leave
untranslated. locale_thirdparty/ supplies them; the project's own catalog (locale/) still wins."""
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django_q.models import OrmQ, Schedule, Task

from monitoring.models import Job

pytestmark = pytest.mark.django_db

THIRD_PARTY_PO = Path(settings.BASE_DIR) / "locale_thirdparty" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _page_text(admin_client, url: str, language: str) -> str:
    admin_client.cookies["django_language"] = language
    response = admin_client.get(url)
    assert response.status_code == 200, url
    return strip_tags(response.content.decode())


@pytest.fixture
def queue_rows():
    now = timezone.now()
    done = Task.objects.create(id="a" * 32, name="alpha-bravo", func="math.floor", started=now, stopped=now, success=True, result=1)
    Schedule.objects.create(func="math.floor", name="nightly")
    OrmQ.objects.create(key="default", payload="x", lock=now)
    return done


@pytest.mark.parametrize("language, shown, hidden", [
    ("zh-hans",
     ["成功的任务", "用时", "名称", "函数", "开始时间", "结束时间", "计划任务", "目标集群的名称", "排队的任务", "锁定至", "集群键", "模型名称"],
     ["Successful tasks", "Time Taken", "Started at", "Stopped at", "Name of the target cluster", "Lock until", "Cluster key", "Model name"]),
    ("en",
     ["Successful tasks", "Time Taken", "Name", "Function", "Started at", "Stopped at", "Scheduled tasks", "Name of the target cluster",
      "Queued tasks", "Lock until", "Cluster key"],
     ["成功的任务", "用时", "开始时间", "目标集群的名称"]),
])
def test_django_qs_admin_pages_read_in_the_admins_language(admin_client, queue_rows, language, shown, hidden):
    pages = "".join(_page_text(admin_client, url, language) for url in (
        "/admin/", "/admin/django_q/success/", "/admin/django_q/schedule/add/", "/admin/django_q/ormq/"))
    assert [text for text in shown if text not in pages] == []
    assert [text for text in hidden if text in pages] == []


def test_a_tasks_fields_and_help_texts_read_in_chinese_and_its_result_in_the_projects_words(admin_client, queue_rows):
    page = _page_text(admin_client, f"/admin/django_q/success/{queue_rows.pk}/change/", "zh-hans")
    assert [text for text in ("任务 ID:", "可调用对象的点分导入路径, 例如 myapp.tasks.job。", "尝试次数:", "关键字参数:", "结果:")
            if text not in page] == []
    # django-q2's "Result" is also the project's own msgid (a job's result): the project's translation is the one shown
    assert re.search(r"\b(Attempt count|Keyword arguments|Result|Task id):", page) is None


def test_the_projects_catalog_wins_over_the_catalogs_of_the_packages(admin_client):
    """Both define "History": the admin's object page says the project's 历史记录, not Django's own 历史."""
    job = Job.objects.create(id="train_20250101_000000", kind="train", params={})
    page = _page_text(admin_client, f"/admin/monitoring/job/{job.pk}/change/", "zh-hans")
    assert "历史记录" in page


def _entries(po: Path) -> dict[str, str]:
    text = po.read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', text, flags=re.MULTILINE)
    return {msgid.replace('\\"', '"'): msgstr.replace('\\"', '"') for msgid, msgstr in pairs}


def test_every_third_party_text_is_shown_as_translated_there():
    """Each entry is compiled, found, and not one the project's own catalog (which wins) already defines."""
    entries = _entries(THIRD_PARTY_PO)
    assert "Time Taken" in entries and "Model name" in entries  # the catalog was read at all
    with translation.override("zh-hans"):
        shown = {msgid: translation.gettext(msgid) for msgid in entries}
    assert {msgid: text for msgid, text in shown.items() if text != entries[msgid]} == {}
