"""gpu_choice ("GPU0", "CPU") -> device names, and where a job may run on this installation.

The web process decides with the GPU count from settings (NVML or ECHOFU_GPUS), never by
importing torch; the rule itself is `engines.devices.choose_device`, which engines apply too.
"""
import re

from django.conf import settings

from engines.devices import choose_device
from engines.messages import Message, gettext_noop

GPU_CHOICE = re.compile(r"^(?:GPU|cuda:?)(\d{1,2})$", re.IGNORECASE)


def parse_gpu_choice(value: str | None) -> str:
    """"GPU0" -> "cuda:0", "CPU" -> "cpu"; ValueError's reason is read after the field's name ("gpu_choice: ...")."""
    text = (value or "GPU0").strip()
    if text.lower() == "cpu":
        return "cpu"
    match = GPU_CHOICE.match(text)
    if not match:
        raise ValueError(gettext_noop("'{text}' is not valid: use GPU0, GPU1, ... or CPU", text=text))
    return f"cuda:{int(match.group(1))}"


def usable_device(requested: str, cpu_fallback: bool = True) -> tuple[str, Message | str]:
    """(device to run on, warning): a requested GPU that is not here falls back to the CPU when the engine can."""
    return choose_device(requested, settings.GPU_COUNT, cpu_fallback)
