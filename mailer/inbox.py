"""Where incoming mail waits: an IMAP mailbox (over TLS) or a local Maildir.

Both answer the same three calls, so the service never knows which it has:
`pending()` yields what is waiting, `move(key, folder)` files one away (never deletes),
`close()`. A message's `key` is stable for the mailbox's lifetime: "<uidvalidity>:<uid>"
for IMAP, the file name for a Maildir.
"""
from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from imapclient import IMAPClient

FETCH_BATCH = 200


@dataclass(frozen=True)
class Incoming:
    key: str
    raw: bytes


class Inbox(Protocol):
    name: str

    def pending(self) -> Iterator[Incoming]: ...
    def move(self, key: str, folder: str) -> None: ...
    def close(self) -> None: ...


class MaildirInbox:
    """A Maildir++ folder; `Processed` and `Quarantine` are its subfolders (`.Processed`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = f"maildir:{self.path}"
        make_maildir(self.path)

    def pending(self) -> Iterator[Incoming]:
        for sub in ("new", "cur"):
            for f in sorted((self.path / sub).iterdir()):
                if f.name.startswith("."):
                    continue
                try:
                    yield Incoming(f"{sub}/{f.name}", f.read_bytes())
                except FileNotFoundError:  # moved away by someone else meanwhile
                    continue

    def move(self, key: str, folder: str) -> None:
        target = self.path / f".{folder}"
        make_maildir(target)
        (self.path / key).rename(target / key)

    def close(self) -> None:
        pass


def make_maildir(path: Path) -> None:
    """A Maildir readable by its owner alone: it holds safeguarding mail."""
    for folder in (path, path / "tmp", path / "new", path / "cur"):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


class ImapInbox:
    """One IMAP folder over TLS (IMAPS or STARTTLS), certificate checked."""

    def __init__(self, host: str, port: int, username: str, password: str, *, security: str = "tls",
                 ssl_context: ssl.SSLContext | None = None, folder: str = "INBOX", timeout: float = 30):
        self.folder = folder
        self.name = f"imap:{username}@{host}:{port}/{folder}"
        context = ssl_context or ssl.create_default_context()
        if security == "tls":
            self.client = IMAPClient(host, port=port, ssl=True, ssl_context=context, timeout=timeout)
        else:
            self.client = IMAPClient(host, port=port, ssl=False, timeout=timeout)
            if security == "starttls":
                self.client.starttls(context)
        self.client.login(username, password)
        self._known_folders: set[str] = set()
        self.uidvalidity = self._select()

    def _select(self) -> int:
        info = self.client.select_folder(self.folder)
        return int(info[b"UIDVALIDITY"])

    def pending(self) -> Iterator[Incoming]:
        self.uidvalidity = self._select()
        uids = sorted(self.client.search(["NOT", "DELETED"]))
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            fetched = self.client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                data = fetched.get(uid)
                if data and b"BODY[]" in data:
                    yield Incoming(f"{self.uidvalidity}:{uid}", bytes(data[b"BODY[]"]))

    def move(self, key: str, folder: str) -> None:
        validity, uid = key.split(":", 1)
        if int(validity) != self.uidvalidity:
            return  # the mailbox was rebuilt; the message will be seen again and recognised by digest
        self._ensure(folder)
        if self.client.has_capability("MOVE"):
            self.client.move([int(uid)], folder)
        else:
            self.client.copy([int(uid)], folder)
            self.client.delete_messages([int(uid)])
            self.client.uid_expunge([int(uid)]) if self.client.has_capability("UIDPLUS") else self.client.expunge()

    def _ensure(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not self.client.folder_exists(folder):
            self.client.create_folder(folder)
            self.client.subscribe_folder(folder)
        self._known_folders.add(folder)

    def has_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    def idle_wait(self, seconds: float, stop=lambda: False, slice_seconds: float = 1.0) -> bool:
        """Hold IDLE up to `seconds` or until the server announces mail (True) or `stop()`.

        IDLE is entered once and checked in short slices, so a stop request is seen within
        `slice_seconds` without re-issuing the command."""
        self.last_reached = time.monotonic()
        self.client.idle()
        try:
            end = time.monotonic() + seconds
            while not stop() and time.monotonic() < end:
                responses = self.client.idle_check(timeout=slice_seconds)
                self.last_reached = time.monotonic()
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return True
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionError("the server ended the IDLE session")
            return False
        finally:
            self.client.idle_done()

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error worth raising
            pass
