"""What one socket may send: about 20 messages a second (with three seconds'
worth in hand, so a dashboard subscribing to its polls at once is not cut
off) and 100 errors in its life. Past either, the socket is closed with 4429.

A token bucket per socket, written out here: it is a few lines on the
socket's own state, where a rate-limit library would keep a store, keys and
a clock thread for each of 10,000 sockets.
"""

import time

CLOSE_CODE = 4429
RATE = 20.0  # messages per second, sustained
BURST = 60  # messages in hand
ERRORS = 100  # error replies in the socket's life


class MessageBudget:
    __slots__ = ("tokens", "at", "errors")

    def __init__(self):
        self.tokens, self.at, self.errors = float(BURST), time.monotonic(), 0

    def spend(self) -> bool:
        """One message received: False once the socket sends too fast."""
        now = time.monotonic()
        self.tokens = min(float(BURST), self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def fail(self) -> bool:
        """One error caused: False once the socket has caused too many."""
        self.errors += 1
        return self.errors < ERRORS
