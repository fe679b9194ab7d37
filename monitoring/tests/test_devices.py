"""Where a job runs: one device rule, decided in the web process without importing torch."""
import subprocess
import sys

from engines.devices import choose_device
from monitoring.tests.qcluster import ROOT


def test_the_device_rule():
    assert choose_device("cuda:1", gpu_count=2) == ("cuda:1", "")
    device, warning = choose_device("cuda:2", gpu_count=2)
    assert device == "cpu" and "cuda:2" in warning and "CUDA is not available" in warning
    assert choose_device("cuda:0", gpu_count=0, cpu_fallback=False) == ("cuda:0", "")  # the engine says why it cannot start
    assert choose_device("cpu", gpu_count=4) == ("cpu", "")


def test_web_process_places_jobs_without_importing_torch():
    script = (
        "import sys, django; django.setup()\n"
        "from monitoring.devices import usable_device\n"
        "from monitoring.runner import queue_for\n"
        "device, warning = usable_device('cuda:0')\n"
        "print(device, queue_for('train', device), queue_for('render', device), 'torch' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={"DJANGO_SETTINGS_MODULE": "echofu.settings", "ECHOFU_GPUS": "0", "PATH": "/usr/bin:/bin"}).stdout
    assert output.split() == ["cpu", "cpu", "interactive", "False"]
