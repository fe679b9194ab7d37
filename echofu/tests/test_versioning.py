"""Next-version numbering stays unique when two workers finish at the same moment, and gives no number
out twice, even once its row is deleted."""
import time

import pytest
from django.db.models import QuerySet

from assets.models import SpeakerProfile
from echofu import versioning
from echofu.ownership import local_user
from echofu.tests.at_once import at_once
from echofu.versioning import create_next_version
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def test_versions_count_up_within_their_scope():
    first = create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="a.wav")
    second = create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="b.wav")
    other = create_next_version(SpeakerProfile, {"speaker_id": "bob"}, reference_path="c.wav")
    assert (first.version, second.version, other.version) == (1, 2, 1)


def test_a_deleted_newest_version_does_not_give_its_number_to_the_next():
    anna = {"model_type": "EchoLite", "person": "anna"}
    for name in ("one", "two", "three"):
        create_next_version(TalkingHeadModel, anna, name=name)
    TalkingHeadModel.objects.filter(version=3).delete()
    assert create_next_version(TalkingHeadModel, anna, name="four").version == 4
    assert create_next_version(TalkingHeadModel, {**anna, "person": "bob"}, name="bob").version == 1

    for clip in ("a.wav", "b.wav"):
        create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path=clip)
    SpeakerProfile.objects.all().delete()  # every version: the voice's name still remembers its numbers
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="c.wav").version == 3


def test_single_user_mode_numbers_the_ownerless_and_the_local_accounts_rows_on_from_each_others_deleted():
    """An operator's command (no owner) and the local account share one numbering, as they share one list."""
    create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="a.wav")
    create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=local_user().pk, reference_path="b.wav")
    SpeakerProfile.objects.filter(version=2).delete()
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="c.wav").version == 3
    SpeakerProfile.objects.filter(version=3).delete()
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, owner_id=local_user().pk, reference_path="d.wav").version == 4


def test_a_row_saved_without_a_given_number_is_counted_in():
    SpeakerProfile.objects.create(speaker_id="anna", version=5, reference_path="fixture.wav")
    assert create_next_version(SpeakerProfile, {"speaker_id": "anna"}, reference_path="a.wav").version == 6


def test_a_number_taken_meanwhile_by_another_worker_is_skipped(monkeypatch):
    create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="one")
    create_next_version(TalkingHeadModel, {"model_type": "EchoLite", "person": "anna"}, name="two")
    real_highest = versioning.highest_issued
    stale = iter([1])  # what a worker read just before the other one saved version 2

    def highest_issued(*args):
        return next(stale, None) or real_highest(*args)

    monkeypatch.setattr(versioning, "highest_issued", highest_issued)
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
