"""A per-socket cap on the kernel's send buffer in the socket tier.

A client that stops reading leaves what was written to it in the kernel's
send buffer until the server closes it (NEXUS_WS_SEND_TIMEOUT_MS). Linux
grows that buffer on its own up to `net.ipv4.tcp_wmem`'s maximum (4 MiB):
the fault runs measured about 2.8 MB per stuck socket, invisible in the
process's RSS. A live-results frame is a few hundred bytes, so a few tens
of kilobytes in flight are plenty.

No ASGI server offers the option, and ASGI does not hand the application
its sockets. So on its first connection (granian opens its listener only
after the lifespan startup) this process sets SO_SNDBUF on the server's
listening sockets, which Linux copies to every connection accepted
afterwards (turning off the growth for them), and on the connections
accepted so far. Linux only, a no-op elsewhere; NEXUS_WS_SNDBUF_BYTES=0
turns it off.
"""

import contextlib
import logging
import os
import socket
from socket import AF_INET, AF_INET6, SO_ACCEPTCONN, SO_SNDBUF, SOL_SOCKET

from django.conf import settings

logger = logging.getLogger("nexus.realtime")


def cap_send_buffers() -> int:
    """Set SO_SNDBUF on the server's listening sockets in this process, and
    on the connections they accepted already; returns how many."""
    size = settings.NEXUS_WS_SNDBUF_BYTES
    if not size or not os.path.isdir("/proc/self/fd"):
        return 0
    sockets = list(_tcp_sockets())
    ports = {port for sock, port in sockets if _serving(sock)}
    capped = 0
    for sock, port in sockets:
        with sock:
            if port in ports:  # not the database's or Redis's connections
                sock.setsockopt(SOL_SOCKET, SO_SNDBUF, size)
                capped += 1
    if capped:
        logger.info("Send buffers capped at %d bytes on %d sockets", size, capped)
    return capped


def _serving(sock: socket.socket) -> bool:
    """A server's socket: listening, or bound and not connected."""
    if sock.getsockopt(SOL_SOCKET, SO_ACCEPTCONN):
        return True
    try:
        sock.getpeername()
    except OSError:
        return True
    return False


def _tcp_sockets():
    """(a duplicate of each TCP socket this process holds, its local port)."""
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError, ValueError):
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(int(name)))
            if sock.type == socket.SOCK_STREAM and sock.family in (AF_INET, AF_INET6):
                yield sock, sock.getsockname()[1]
            else:
                sock.close()
