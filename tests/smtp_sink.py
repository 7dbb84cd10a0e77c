"""A real SMTP server on a loopback port (aiosmtpd), for tests and the benchmark.

`mode` makes it misbehave: "refuse" answers 421 to every message, "drop"
closes the connection in the middle of the DATA phase."""
import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Handler:
    def __init__(self, keep: bool = True):
        self.mode = "accept"
        self.keep = keep
        self.messages = []
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "refuse":
            return "421 Service not available, try again later"
        if self.mode == "drop":
            server.transport.close()
            return "421 closing"
        with self.lock:
            self.count += 1
            if self.keep:
                self.messages.append((list(envelope.rcpt_tos),
                                      message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, keep: bool = True):
        self.handler = Handler(keep)
        self.port = free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    @property
    def mode(self):
        return self.handler.mode

    @mode.setter
    def mode(self, value):
        self.handler.mode = value
