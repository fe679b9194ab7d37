"""`./run.sh serve` refusing an address it cannot listen on, before it starts anything, with the reason."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp_path: Path, port: str, **settings: str) -> subprocess.CompletedProcess:
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("ECHOFU_SECRET_KEY", "ECHOFU_SINGLE_USER")},
        **settings,
        "ECHOFU_VENV": sys.prefix,
        "ECHOFU_PORT": port,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "ECHOFU_MEDIA_ROOT": str(tmp_path / "media"),
        "ECHOFU_STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(["./run.sh", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_serve_says_why_it_cannot_listen(tmp_path):
    # Both were answered "the port is in use (set ECHOFU_PORT) or the address is not this machine's".
    not_a_number = serve(tmp_path, "abc")
    assert not_a_number.returncode == 1
    assert "ECHOFU_PORT='abc' is not a port number" in not_a_number.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        in_use = serve(tmp_path, str(taken.getsockname()[1]))
    assert in_use.returncode == 1
    assert "Address already in use" in in_use.stderr
    assert "starting" not in in_use.stdout
    # Refused before the database was touched: migrating first, a typo in ECHOFU_PORT could upgrade
    # the schema under a studio still running on the old code.
    assert not (tmp_path / "serve.sqlite3").exists() and not (tmp_path / "static").exists()


@pytest.mark.parametrize("own_key", [None, "   ", "my-key"])
def test_serve_for_several_people_needs_a_good_secret_key_of_its_own(tmp_path, own_key):
    # The built-in key is in this public repository, and a blank or short one is guessed: with either
    # anyone could sign the cookies and the job queue's tasks this studio trusts.
    with socket.socket() as probe:  # a free port: were the refusal missing, the studio would start there
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    key = {} if own_key is None else {"ECHOFU_SECRET_KEY": own_key}
    refused = serve(tmp_path, port, ECHOFU_SINGLE_USER="false", **key)
    assert refused.returncode == 1
    assert "ECHOFU_SECRET_KEY" in refused.stderr and "secrets.token_urlsafe" in refused.stderr
    assert "starting" not in refused.stdout
    assert not (tmp_path / "serve.sqlite3").exists()
