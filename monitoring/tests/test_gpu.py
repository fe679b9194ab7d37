"""GPUs in /api/status (through an NVML fake everywhere, for real where a driver is) and gpu_choice -> device."""
from types import SimpleNamespace

import pynvml
import pytest
import torch

from assets.models import ReferenceAudio
from echofu.messages import restored
from generation.jobs import prepare_render
from monitoring.devices import parse_gpu_choice, usable_device
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


class FakeNvml:
    """pynvml's functions, as the status view calls them, over two made-up cards."""

    cards = [(b"NVIDIA H100 80GB HBM3", 37, 2048, 81559, 51), ("NVIDIA A10", 0, 300, 22731, 40)]  # old pynvml: bytes

    def __init__(self, monkeypatch, broken_temperature: int | None = None):
        self.shutdowns = 0
        for name, function in {
            "nvmlInit": lambda: None,
            "nvmlShutdown": self.shutdown,
            "nvmlDeviceGetCount": lambda: len(self.cards),
            "nvmlDeviceGetHandleByIndex": lambda index: index,
            "nvmlDeviceGetName": lambda handle: self.cards[handle][0],
            "nvmlDeviceGetUtilizationRates": lambda handle: SimpleNamespace(gpu=self.cards[handle][1], memory=3),
            "nvmlDeviceGetMemoryInfo": lambda handle: SimpleNamespace(used=self.cards[handle][2] * MIB, total=self.cards[handle][3] * MIB,
                                                                      free=(self.cards[handle][3] - self.cards[handle][2]) * MIB),
            "nvmlDeviceGetTemperature": lambda handle, sensor: self.temperature(handle, sensor, broken_temperature),
        }.items():
            monkeypatch.setattr(pynvml, name, function)

    def shutdown(self):
        self.shutdowns += 1

    def temperature(self, handle, sensor, broken):
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        if handle == broken:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        return self.cards[handle][4]


def test_status_reports_each_gpu_from_nvml(client, monkeypatch):
    nvml = FakeNvml(monkeypatch)
    gpus = client.get("/api/status").json()["gpus"]
    assert gpus == [
        {"name": "GPU0", "model": "NVIDIA H100 80GB HBM3", "load": 37.0, "memory_used": 2048, "memory_total": 81559, "temperature": 51},
        {"name": "GPU1", "model": "NVIDIA A10", "load": 0.0, "memory_used": 300, "memory_total": 22731, "temperature": 40},
    ]
    assert nvml.shutdowns == 1


def test_a_gpu_lost_mid_query_keeps_the_ones_read_and_no_driver_means_no_gpus(client, monkeypatch):
    FakeNvml(monkeypatch, broken_temperature=1)
    body = client.get("/api/status").json()
    assert [gpu["name"] for gpu in body["gpus"]] == ["GPU0"] and body["memory_total"] > 0

    def no_driver():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    response = client.get("/api/status")
    assert response.status_code == 200 and response.json()["gpus"] == []


def nvidia_driver() -> bool:
    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except pynvml.NVMLError:
        return False


@pytest.mark.skipif(not nvidia_driver(), reason="no NVIDIA driver on this machine; run on a GPU machine (it ran on the device tool's H100/H200)")
def test_status_shows_the_real_gpu(client):
    gpus = client.get("/api/status").json()["gpus"]
    assert len(gpus) == torch.cuda.device_count() >= 1
    first = gpus[0]
    assert first["name"] == "GPU0" and first["model"].startswith("NVIDIA") and first["memory_total"] > 10_000
    assert 0 <= first["memory_used"] <= first["memory_total"] and 0 <= first["load"] <= 100 and 10 < first["temperature"] < 100
    print("nvml", first)


def test_gpu_choice_maps_to_the_gpus_this_machine_has():
    """On a one-GPU machine GPU0 is cuda:0 and GPU1 falls back to the CPU; with none, both do."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index in range(count + 1):
        device, warning = usable_device(parse_gpu_choice(f"GPU{index}"))
        if index < count:
            assert (device, warning) == (f"cuda:{index}", "")
        else:
            assert device == "cpu" and f"cuda:{index} requested but CUDA is not available" in warning and "running on CPU" in warning
    assert usable_device(parse_gpu_choice("CPU")) == ("cpu", "")
    with pytest.raises(ValueError, match="^'GPU' is not valid"):
        parse_gpu_choice("GPU")


def test_a_render_job_carries_the_device_it_will_really_use():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="anna")
    ReferenceAudio.objects.create(file="voices/ref_voices/x.wav")  # in the catalog, as the form finds a render's audio
    job = prepare_render(model, parse_gpu_choice("GPU0"), audio_path="voices/ref_voices/x.wav")
    # Renders wait in the interactive queue whatever device they run on; only trainings queue per device.
    assert job.device == ("cuda:0" if count else "cpu") and job.queue == "interactive"
    assert bool(job.params["device_warning"]) == (count == 0)
    missing = prepare_render(model, parse_gpu_choice(f"GPU{count}"), audio_path="voices/ref_voices/x.wav")
    assert missing.device == "cpu" and f"cuda:{count} requested but CUDA is not available" in restored(missing.params["device_warning"])
