"""A throwaway PostgreSQL cluster for the tests and the benchmark: initdb, pg_ctl, a free port, stop.

It uses the server binaries on the machine (Debian's `postgresql` package puts them in
/usr/lib/postgresql/<version>/bin; .ci/run installs it when they are missing). PostgreSQL
refuses to run as root, which CI and these machines are: then the cluster runs as the
unprivileged `postgres` user (runuser), in a temporary folder that user owns, and the
tests connect over TCP on 127.0.0.1. Every wait is bounded.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 30


def find_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    bindir: Path
    folder: Path
    port: int
    as_user: str | None  # run the server as this user (when we are root)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def _run(self, *command: str, timeout: float = START_SECONDS) -> None:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self.as_user:
            argv = ["runuser", "-u", self.as_user, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr or result.stdout}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w",
                  "-t", str(START_SECONDS), "start", timeout=START_SECONDS + 5)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(START_SECONDS), "stop",
                  timeout=START_SECONDS + 5)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def start_cluster() -> Cluster:
    """A running cluster in a new temporary folder; raises RuntimeError when there are no binaries."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl): install the postgresql package")
    as_user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    if as_user:
        entry = pwd.getpwnam(as_user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    cluster = Cluster(bindir, folder, free_port(), as_user)
    cluster.init()
    cluster.start()
    return cluster


def remove(cluster: Cluster) -> None:
    try:
        cluster.stop("immediate")
    except (RuntimeError, subprocess.TimeoutExpired):
        pass
    shutil.rmtree(cluster.folder, ignore_errors=True)
