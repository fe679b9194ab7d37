"""Private PostgreSQL and Redis servers on loopback, from the Debian packages (postgresql, redis-server)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

MISSING = ("PostgreSQL/Redis server binaries are not installed (Debian packages postgresql and redis-server; "
           "`./run.sh test` installs them where it may use apt-get)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return postgres_bin() is not None and shutil.which("redis-server") is not None


def _wait_for_port(port: int, timeout: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


class Postgres:
    """initdb + postgres in `root`; run as the `postgres` user when the tests run as root (then
    every folder above `root` must be traversable by that user)."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.user = "postgres" if os.geteuid() == 0 else None

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def start(self) -> "Postgres":
        binaries = postgres_bin()
        data, sockets = self.root / "data", self.root / "run"
        for folder in (self.root, data, sockets):
            folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            owner = pwd.getpwnam(self.user)
            for folder in (self.root, data, sockets):
                os.chown(folder, owner.pw_uid, owner.pw_gid)
        subprocess.run(self._as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
                       check=True, capture_output=True)
        log = open(self.root / "postgres.log", "ab")
        self.process = subprocess.Popen(
            self._as_owner([str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port), "-k", str(sockets),
                            "-c", "fsync=off", "-c", "max_connections=200"]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        _wait_for_port(self.port, 60, "postgres", self.process)
        subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "echofu"],
                       check=True, capture_output=True)
        return self

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/echofu"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # "smart" shutdown: waits for clients, then exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Redis:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> "Redis":
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.root)],
            stdout=open(self.root / "redis.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        _wait_for_port(self.port, 30, "redis-server", self.process)
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
