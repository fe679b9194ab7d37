"""Next-version numbering stays unique when two workers finish at the same moment."""
import pytest
from django.db.models import QuerySet

from assets.models import SpeakerProfile
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
