"""Machine load for /api/status: psutil for CPU/memory/disk, NVML for NVIDIA GPUs."""
from __future__ import annotations

import logging
import threading

import psutil
from django.conf import settings
from django.utils import timezone

from engines.devices import nvml

logger = logging.getLogger(__name__)


class _CpuLoad:
    """Whole-machine CPU use since the previous reading in this process, whichever thread reads it.
    psutil.cpu_percent keeps its previous sample per thread, so each of gunicorn's threads answered
    its first /api/status with 0.0 % however busy the machine was."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last = psutil.cpu_times()
        self.percent = 0.0

    @staticmethod
    def _busy_and_total(times) -> tuple[float, float]:
        # As psutil counts them: Linux's guest time is already in user time; iowait is idle.
        total = sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)
        return total - times.idle - getattr(times, "iowait", 0), total

    def read(self) -> float:
        with self.lock:
            now = psutil.cpu_times()
            (busy_before, total_before), (busy, total) = self._busy_and_total(self.last), self._busy_and_total(now)
            if total > total_before:  # two readings within one clock tick keep the last figure
                self.percent = round(100 * max(busy - busy_before, 0) / (total - total_before), 1)
                self.last = now
            return self.percent


_cpu_load = _CpuLoad()


def gpu_status() -> list[dict]:
    """One entry per NVIDIA GPU; [] when there is no driver or no GPU."""
    gpus = []
    with nvml() as pynvml:
        if pynvml is None:
            return []
        try:
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                name = pynvml.nvmlDeviceGetName(handle)
                gpus.append(
                    {
                        "name": f"GPU{index}",
                        "model": name.decode() if isinstance(name, bytes) else name,
                        "load": float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                        "memory_used": memory.used // (1024 * 1024),
                        "memory_total": memory.total // (1024 * 1024),
                        "temperature": pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU),
                    }
                )
        except Exception:
            logger.exception("reading GPU status failed")
    return gpus


def system_status() -> dict:
    memory = psutil.virtual_memory()
    return {
        "cpu_percent": _cpu_load.read(),
        "memory_percent": memory.percent,
        "memory_used": memory.used,
        "memory_total": memory.total,
        "disk_percent": psutil.disk_usage(str(settings.MEDIA_ROOT)).percent,
        "gpus": gpu_status(),
        "timestamp": timezone.localtime().replace(tzinfo=None).isoformat(timespec="seconds"),
    }
