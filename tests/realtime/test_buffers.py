"""The socket tier caps each connection's kernel send buffer (realtime/buffers.py)."""

import socket

from realtime.buffers import cap_send_buffers


def test_connections_accepted_after_the_cap_inherit_it(settings):
    settings.NEXUS_WS_SNDBUF_BYTES = 16384
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        before = socket.create_connection(("127.0.0.1", port))
        accepted_before, _ = server.accept()
        database = socket.create_connection(("127.0.0.1", port))  # a client socket of ours
        accepted_db, _ = server.accept()
        default = database.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        assert cap_send_buffers() >= 3  # the listener and the two it accepted
        after = socket.create_connection(("127.0.0.1", port))
        accepted_after, _ = server.accept()
        for sock in (server, accepted_before, accepted_after):
            # Linux doubles what it is given
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * 16384
        # sockets whose local port is not a listening one (our own clients) keep theirs
        assert database.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == default
        for sock in (before, accepted_before, database, accepted_db, after, accepted_after):
            sock.close()


def test_zero_leaves_linux_its_own_growth(settings):
    settings.NEXUS_WS_SNDBUF_BYTES = 0
    assert cap_send_buffers() == 0
