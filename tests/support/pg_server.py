"""Throw-away PostgreSQL server for the test run (stdlib only).

Usage::

    with TemporaryPostgres() as pg:
        engine = sqlalchemy.create_engine(pg.url)
        other_url = pg.create_database("motorpool_other")

The server runs from a fresh data directory under /tmp, listens only on
127.0.0.1 with ``trust`` authentication (no password), is tuned for speed
(fsync off) and is removed completely by :meth:`TemporaryPostgres.stop`
(also registered with :mod:`atexit` as a safety net).

PostgreSQL refuses to run as root, so when the current process is root the
server commands are run as the ``postgres`` system user (falling back to
``nobody``) through ``runuser`` (or ``su``).

Binaries are looked up in ``$MOTORPOOL_PG_BIN`` if set, else the highest
version under ``/usr/lib/postgresql/*/bin``, else on ``PATH``.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_pg_bin"]

PG_BIN_ENV = "MOTORPOOL_PG_BIN"
SUPERUSER = "motorpool"
DEFAULT_DATABASE = "motorpool_test"
HOST = "127.0.0.1"
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
UNPRIVILEGED_USERS = ("postgres", "nobody")

_INSTALL_HINT = (
    "Install the PostgreSQL server with `apt-get install postgresql` "
    "(`make test` installs it via scripts/ensure-system-packages.sh), "
    f"or point ${PG_BIN_ENV} at a directory containing "
    + ", ".join(SERVER_BINARIES)
    + "."
)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be used: binaries missing, or the server failed."""


def _version_key(bin_dir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> numeric version tuple ("9.6" < "15").
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (-1,)


def find_pg_bin() -> dict[str, str]:
    """Return ``{name: absolute path}`` for initdb, pg_ctl, postgres (+ psql/createdb if found).

    Raises :class:`PostgresUnavailable` when a server binary is missing.
    """
    env_dir = os.environ.get(PG_BIN_ENV)
    if env_dir:
        found = {
            name: str(Path(env_dir) / name)
            for name in SERVER_BINARIES + ("psql", "createdb")
            if os.access(Path(env_dir) / name, os.X_OK)
        }
        missing = [name for name in SERVER_BINARIES if name not in found]
        if missing:
            raise PostgresUnavailable(
                f"${PG_BIN_ENV}={env_dir} does not contain {', '.join(missing)}. "
                + _INSTALL_HINT
            )
        return found

    candidates = sorted(
        (d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.isdir(d)),
        key=_version_key,
        reverse=True,
    )
    for bin_dir in candidates:
        found = {
            name: os.path.join(bin_dir, name)
            for name in SERVER_BINARIES + ("psql", "createdb")
            if os.access(os.path.join(bin_dir, name), os.X_OK)
        }
        if all(name in found for name in SERVER_BINARIES):
            return found

    found = {}
    for name in SERVER_BINARIES + ("psql", "createdb"):
        path = shutil.which(name)
        if path:
            found[name] = path
    missing = [name for name in SERVER_BINARIES if name not in found]
    if missing:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (missing: "
            + ", ".join(missing)
            + f"; looked in ${PG_BIN_ENV}, /usr/lib/postgresql/*/bin and PATH). "
            + _INSTALL_HINT
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    # libpq / pg_ctl honour PG* variables (PGDATA, PGHOST, PGPORT, ...); drop
    # them so the developer's environment cannot redirect our commands.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log file)"
    return "\n".join(text.splitlines()[-lines:]) or "(log file empty)"


class TemporaryPostgres:
    """A disposable PostgreSQL server on 127.0.0.1 (trust auth, superuser ``motorpool``)."""

    def __init__(
        self,
        database: str = DEFAULT_DATABASE,
        *,
        user: str = SUPERUSER,
        tmp_root: str = "/tmp",
        start_timeout: int = 60,
    ) -> None:
        self.database = database
        self.user = user
        self.host = HOST
        self.port: int | None = None
        self.tmp_root = tmp_root
        self.start_timeout = start_timeout
        self.bins: dict[str, str] = {}
        self.base_dir: Path | None = None
        self.data_dir: Path | None = None
        self.socket_dir: Path | None = None
        self.log_path: Path | None = None
        self.run_as: str | None = None  # system user the server runs as (root only)
        self._running = False
        self._atexit_registered = False

    # -- public API ---------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database (``postgresql+psycopg://...``)."""
        return self.url_for(self.database)

    def url_for(self, dbname: str) -> str:
        if self.port is None:
            raise RuntimeError("TemporaryPostgres is not started")
        return (
            f"postgresql+psycopg://{quote(self.user, safe='')}@{self.host}:"
            f"{self.port}/{quote(dbname, safe='')}"
        )

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> "TemporaryPostgres":
        """initdb + start the server + create the default database. Idempotent."""
        if self._running:
            return self
        self.bins = find_pg_bin()
        self.run_as = self._pick_run_as_user()
        try:
            self._make_dirs()
            self._initdb()
            self._start_server()
            self._running = True
            if not self._atexit_registered:
                atexit.register(self.stop)
                self._atexit_registered = True
            if self.database:
                self.create_database(self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its data directory. Idempotent."""
        # Also try when start() failed half-way: a postmaster.pid means a server
        # may still be running and must not be orphaned.
        pid_file = self.data_dir / "postmaster.pid" if self.data_dir is not None else None
        if self.base_dir is not None and (self._running or (pid_file and pid_file.exists())):
            self._running = False
            try:
                self._run_server_cmd(
                    [self.bins["pg_ctl"], "stop", "-D", str(self.data_dir),
                     "-m", "immediate", "-w", "-t", "30"],
                    timeout=60,
                )
            except (subprocess.SubprocessError, OSError):
                pass  # best effort; the directory is removed regardless
        self._running = False
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False

    def create_database(self, name: str) -> str:
        """Create database *name* (owned by the superuser); return its SQLAlchemy URL."""
        if not self._running:
            raise RuntimeError("TemporaryPostgres is not started")
        ident = '"' + name.replace('"', '""') + '"'
        psql = self.bins.get("psql")
        if psql:
            cmd = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                   "-h", self.host, "-p", str(self.port), "-U", self.user,
                   "-d", "postgres", "-c", f"CREATE DATABASE {ident}"]
        elif self.bins.get("createdb"):
            cmd = [self.bins["createdb"], "-h", self.host, "-p", str(self.port),
                   "-U", self.user, name]
        else:
            raise PostgresUnavailable(
                "Neither psql nor createdb found next to the server binaries. " + _INSTALL_HINT
            )
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(),
                              timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"creating database {name!r} failed (exit {proc.returncode}):\n"
                + (proc.stderr or proc.stdout).strip()
            )
        return self.url_for(name)

    def __enter__(self) -> "TemporaryPostgres":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._running else "stopped"
        return f"<TemporaryPostgres {state} data_dir={self.data_dir}>"

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _pick_run_as_user() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in UNPRIVILEGED_USERS:
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            return name
        raise PostgresUnavailable(
            "Running as root, but PostgreSQL cannot run as root and neither of the "
            f"system users {', '.join(UNPRIVILEGED_USERS)} exists. Create one "
            "(installing the `postgresql` package creates `postgres`) or run the "
            "tests as an unprivileged user."
        )

    def _make_dirs(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="motorpool-pg-", dir=self.tmp_root))
        self.data_dir = self.base_dir / "data"  # created by initdb (mode 0700)
        self.socket_dir = self.base_dir / "sock"
        self.socket_dir.mkdir()
        self.log_path = self.base_dir / "postgres.log"
        if self.run_as is None:
            return
        pw = pwd.getpwnam(self.run_as)
        for path in (self.base_dir, self.socket_dir):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        # The unprivileged user must be able to reach base_dir.
        for parent in self.base_dir.resolve().parents:
            mode = os.stat(parent).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)

    def _wrap(self, argv: list[str]) -> list[str]:
        if self.run_as is None:
            return argv
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.run_as, "--", *argv]
        su = shutil.which("su")
        if su:
            return [su, "-s", "/bin/sh", "-c", shlex.join(argv), self.run_as]
        raise PostgresUnavailable(
            f"Running as root but neither runuser nor su is available to switch to "
            f"{self.run_as!r}; run the tests as an unprivileged user."
        )

    def _run_server_cmd(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._wrap(argv),
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd=str(self.base_dir),  # the run-as user may not be able to read our cwd
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def _initdb(self) -> None:
        proc = self._run_server_cmd(
            [self.bins["initdb"], "-D", str(self.data_dir), "-A", "trust",
             "-U", self.user, "--encoding=UTF8", "--locale=C", "--no-sync"],
            timeout=180,
        )
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed (exit {proc.returncode}):\n"
                + (proc.stdout + proc.stderr).strip()[-4000:]
            )

    def _start_server(self, attempts: int = 3) -> None:
        last_error = ""
        for _ in range(attempts):
            self.port = _free_port()
            options = (
                f"-h {self.host} -p {self.port} -k {shlex.quote(str(self.socket_dir))} -F "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=100"
            )
            try:
                proc = self._run_server_cmd(
                    [self.bins["pg_ctl"], "start", "-w", "-t", str(self.start_timeout),
                     "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options],
                    timeout=self.start_timeout + 30,
                )
                ok = proc.returncode == 0
                output = (proc.stdout + proc.stderr).strip()
            except subprocess.TimeoutExpired:
                ok, output = False, "pg_ctl start timed out"
            if ok:
                return
            log = _tail(self.log_path)
            last_error = (
                f"pg_ctl start failed on port {self.port}:\n{output}\n"
                f"--- last lines of {self.log_path} ---\n{log}"
            )
            # Another process may have grabbed the port between probe and bind: retry.
            if "could not bind" not in log and "already in use" not in log:
                break
        raise PostgresUnavailable(last_error)
