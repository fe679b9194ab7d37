"""Users read their models as a person and a version ("anna v2 (EchoLite)"), not as the training's task id
that names the model's folder; the contract's `name` and `path` stay the folder, which forms send back."""
import pytest

from generation.models import GeneratedVideo
from training import registry

pytestmark = pytest.mark.django_db


def registered(tmp_path, name, person, owner):
    built = tmp_path / name
    built.mkdir()
    (built / "weights.safetensors").write_bytes(b"w")
    return registry.register("EchoLite", name, built, person=person, owner_id=owner.pk)


def test_the_model_listing_and_details_label_each_model_by_person_and_version(as_alice, alice, tmp_path):
    registered(tmp_path, "train_20261206_100000", "anna", alice)
    registered(tmp_path, "train_20261206_110000", "anna", alice)
    listed = as_alice.get("/api/available-models").json()["models"]
    assert sorted((model["name"], model["label"]) for model in listed) == [
        ("train_20261206_100000", "anna v1 (EchoLite)"), ("train_20261206_110000", "anna v2 (EchoLite)")]
    assert all(registry.find_model(model["path"], None, alice) for model in listed)  # what the list gives, a form sends back
    details = as_alice.get("/api/model-details/EchoLite/train_20261206_110000").json()["model_details"]
    assert (details["name"], details["label"]) == ("train_20261206_110000", "anna v2 (EchoLite)")


def test_the_video_history_labels_the_model_a_video_was_rendered_with(as_alice, alice, tmp_path):
    model = registered(tmp_path, "train_20261206_100000", "anna", alice)
    GeneratedVideo.objects.create(file="videos/res_videos/a.mp4", size=1, model=model, model_type="EchoLite", owner=alice)
    entry, = as_alice.get("/api/history/video_generation").json()
    assert (entry["model_name"], entry["model_param"], entry["model_label"]) == (
        "EchoLite", model.public_dir, "anna v1 (EchoLite)")
