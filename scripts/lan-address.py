"""Print this machine's address on its local network (`make lan`): the
source address of the route out, found without sending a packet; the
first non-loopback address of the host name if there is no route."""

import socket

try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never reached, UDP connect sends nothing
        print(probe.getsockname()[0])
except OSError:
    addresses = socket.gethostbyname_ex(socket.gethostname())[2]
    print(next((a for a in addresses if not a.startswith("127.")), "127.0.0.1"))
