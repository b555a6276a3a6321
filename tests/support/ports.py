"""Free loopback ports for daemons started by the tests."""

from __future__ import annotations

import random
import socket

_handed_out: set[int] = set()


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1, never handed out twice."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        if port not in _handed_out and _free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found in 20000-29999")


def rtp_range(size: int = 400) -> tuple[int, int]:
    """A random RTP port range above the ranges used for signalling ports."""
    base = random.randrange(30000, 60000 - size, 2)
    return base, base + size
