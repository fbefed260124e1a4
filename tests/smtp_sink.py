"""A real, tiny SMTP server for tests: it speaks enough SMTP for smtplib to deliver to it."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field


@dataclass
class Envelope:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class SmtpSink:
    """Just enough SMTP to receive: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    port: int = 0
    received: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0
    # Recipients refused for good (550), as a relay refuses a mailbox that does not exist.
    refused: set[str] = field(default_factory=set)
    refuse_all: bool = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        sender, recipients = "", []
        try:
            writer.write(b"220 sink.test ESMTP ready\r\n")
            while line := await reader.readline():
                command = line.decode("ascii").rstrip("\r\n")
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    writer.write(b"250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                elif verb == "HELO":
                    writer.write(b"250 sink.test\r\n")
                elif verb == "AUTH":
                    _, mechanism, initial = command.split(" ")
                    assert mechanism.upper() == "PLAIN"
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                    self.logins.append((user, password))
                    writer.write(b"235 2.7.0 Authentication successful\r\n")
                elif verb == "MAIL":
                    sender = command[command.index("<") + 1 : command.index(">")]
                    writer.write(b"250 OK\r\n")
                elif verb == "RCPT":
                    recipient = command[command.index("<") + 1 : command.index(">")]
                    if self.refuse_all or recipient in self.refused:
                        writer.write(b"550 5.1.1 No such mailbox\r\n")
                    else:
                        recipients.append(recipient)
                        writer.write(b"250 OK\r\n")
                elif verb == "DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    lines = []
                    while (data_line := await reader.readline()) != b".\r\n":
                        lines.append(data_line[1:] if data_line.startswith(b".") else data_line)
                    self.received.append(Envelope(sender, recipients, b"".join(lines)))
                    sender, recipients = "", []
                    writer.write(b"250 OK: queued\r\n")
                elif verb in ("RSET", "NOOP"):
                    writer.write(b"250 OK\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"502 Command not implemented\r\n")
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
