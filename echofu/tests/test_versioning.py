"""Next-version numbering stays unique when two workers finish at the same moment."""
import time

import pytest
from django.db.models import QuerySet

from assets.models import SpeakerProfile
from echofu.tests.at_once import at_once
from echofu.versioning import create_next_version
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def test_versions_count_up_within_their_scope():
    first = create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="a.wav")
    second = create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="b.wav")
    other = create_next_version(SpeakerProfile, {"speaker_id": "bob"}, reference_path="c.wav")
    assert (first.version, second.version, other.version) == (1, 2, 1)


def test_a_number_taken_meanwhile_by_another_worker_is_skipped(monkeypatch):
    create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="one")
    create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="two")
    real_aggregate = QuerySet.aggregate
    stale = iter([{"version__max": 1}])  # what a worker read just before the other one saved version 2

    def aggregate(self, *args, **kwargs):
        return next(stale, None) or real_aggregate(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "aggregate", aggregate)
    third = create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="three")
    assert third.version == 3
    assert sorted(TalkingHeadModel.objects.values_list("version", flat=True)) == [1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_more_workers_at_once_than_retries_all_get_their_own_version(monkeypatch):
    """Eight workers save "anna" at the same moment, each a little slow between reading the highest
    version and saving its own: every one still gets a number, none a unique-constraint failure."""
    workers = 8
    real_aggregate = QuerySet.aggregate

    def slow_aggregate(self, *args, **kwargs):
        found = real_aggregate(self, *args, **kwargs)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(QuerySet, "aggregate", slow_aggregate)
    versions = [repr(found) if isinstance(found, Exception) else found for found in at_once(
        [lambda index=index: create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path=f"{index}.wav").version
         for index in range(workers)], timeout=60)]
    assert sorted(versions, key=str) == sorted(range(1, workers + 1), key=str), versions
    assert SpeakerProfile.objects.count() == workers
