"""Where incoming mail waits: an IMAP mailbox (over TLS) or a local Maildir.

Both answer the same calls, so the service never knows which it has: `pending()` yields
what is waiting, `move(key, folder)` files one away (never deletes), `wait_for_mail()`
returns when new mail may be there, `close()`. A message's `key` is stable for the
mailbox's lifetime: "<uidvalidity>:<uid>" for IMAP, the file name for a Maildir.
"""
from __future__ import annotations

import math
import os
import select
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailer.oauth import TokenProvider, sign_in

FETCH_BATCH = 200
IDLE_RENEW_SECONDS = 5 * 60  # re-issued well before servers drop IDLE (29 min, RFC 2177), and a
# fresh look at the folder each time bounds how long a missed announcement can leave mail waiting
_RDHUP = getattr(select, "POLLRDHUP", 0)  # Linux: the peer closed its side


@dataclass(frozen=True)
class Incoming:
    key: str
    raw: bytes


class Inbox(Protocol):
    name: str

    def pending(self) -> Iterator[Incoming]: ...
    def move(self, key: str, folder: str) -> None: ...
    def move_many(self, keys: list[str], folder: str) -> None: ...

    def wait_for_mail(self, poll_seconds: float, stop: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """Return when new mail may have arrived: at once if the server announces it (IMAP
        IDLE), else after `poll_seconds`; or as soon as `stop()` is true, which is asked at
        least once a second. `sleep(seconds)` is how the caller lets time pass while polling
        (a threading.Event's `wait` returns early when the event is set)."""

    def close(self) -> None: ...


def poll_wait(seconds: float, stop: Callable[[], bool], sleep: Callable[[float], object]) -> None:
    """`seconds` in slices of at most one second, asking `stop()` before each."""
    slices = max(1, math.ceil(seconds))
    for _ in range(slices):
        if stop():
            return
        sleep(seconds / slices)


HEAD_BYTES = 256_000  # of a Maildir file, for its header block (parser.head stops at 512 KB anyway)


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

    def move_many(self, keys: list[str], folder: str) -> None:
        for key in keys:
            self.move(key, folder)

    def wait_for_mail(self, poll_seconds: float, stop: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        poll_wait(poll_seconds, stop, sleep)

    def recent_heads(self, folders: tuple[str, ...], n: int) -> list[bytes]:
        """The first HEAD_BYTES of the newest `n` messages of each folder (INBOX: this one)."""
        out = []
        for folder in folders:
            root = self.path if folder == "INBOX" else self.path / f".{folder}"
            files = [f for sub in ("new", "cur") if (root / sub).is_dir() for f in (root / sub).iterdir()]
            for f in sorted(files, key=lambda f: f.stat().st_mtime)[-n:]:
                with open(f, "rb") as fh:
                    out.append(fh.read(HEAD_BYTES))
        return out

    def close(self) -> None:
        pass


def make_maildir(path: Path) -> None:
    """A Maildir readable by its owner alone: it holds safeguarding mail."""
    for folder in (path, path / "tmp", path / "new", path / "cur"):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


class ImapInbox:
    """One IMAP folder over TLS (IMAPS or STARTTLS), certificate checked. `monotonic` is the
    caller's clock (seconds), for how long IDLE is held."""

    def __init__(self, host: str, port: int, username: str, password: str | None = None, *,
                 monotonic: Callable[[], float], tokens: TokenProvider | None = None, security: str = "tls",
                 ssl_context: ssl.SSLContext | None = None, folder: str = "INBOX", timeout: float = 30):
        self.folder, self.monotonic = folder, monotonic
        self.name = f"imap:{username}@{host}:{port}/{folder}"
        context = ssl_context or ssl.create_default_context()
        if security == "tls":
            self.client = IMAPClient(host, port=port, ssl=True, ssl_context=context, timeout=timeout)
        else:
            self.client = IMAPClient(host, port=port, ssl=False, timeout=timeout)
            if security == "starttls":
                self.client.starttls(context)
        try:
            self._sign_in(username, password, tokens)
        except BaseException:
            self.client.shutdown()
            raise
        self._known_folders: set[str] = set()
        self.uidvalidity = self._select()

    def _sign_in(self, username: str, password: str | None, tokens: TokenProvider | None) -> None:
        """LOGIN with the password, or AUTHENTICATE XOAUTH2 as `username` (for Exchange, the
        shared mailbox) with a token; a refused token gets one refresh and one retry."""
        if tokens is None:
            self.client.login(username, password)
        else:
            sign_in(tokens, lambda token: self.client.oauth2_login(username, token), refused=(LoginError,))

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
        self.move_many([key], folder)

    def move_many(self, keys: list[str], folder: str) -> None:
        """One UID MOVE for many messages: a round trip per batch, not per message."""
        uids = [int(uid) for validity, uid in (k.split(":", 1) for k in keys) if int(validity) == self.uidvalidity]
        if not uids:
            return  # the mailbox was rebuilt; the messages will be seen again and recognised by digest
        self._ensure(folder)
        if self.client.has_capability("MOVE"):
            self.client.move(uids, folder)
        else:
            self.client.copy(uids, folder)
            self.client.delete_messages(uids)
            self.client.uid_expunge(uids) if self.client.has_capability("UIDPLUS") else self.client.expunge()

    def _ensure(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not self.client.folder_exists(folder):
            self.client.create_folder(folder)
            self.client.subscribe_folder(folder)
        self._known_folders.add(folder)

    def recent_heads(self, folders: tuple[str, ...], n: int) -> list[bytes]:
        """The header blocks of the newest `n` messages of each folder that exists (read-only,
        nothing marked seen); this inbox's own folder is selected again after."""
        out = []
        try:
            for folder in folders:
                if not self.client.folder_exists(folder):
                    continue
                self.client.select_folder(folder, readonly=True)
                uids = sorted(self.client.search(["NOT", "DELETED"]))[-n:]
                fetched = self.client.fetch(uids, ["BODY.PEEK[HEADER]"]) if uids else {}
                out += [bytes(fetched[u][b"BODY[HEADER]"]) for u in uids if b"BODY[HEADER]" in fetched.get(u, {})]
        finally:
            self._select()
        return out

    def has_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    def wait_for_mail(self, poll_seconds: float, stop: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """IDLE where the server has it (renewed every IDLE_RENEW_SECONDS), else a poll."""
        if not self.has_idle():
            poll_wait(poll_seconds, stop, sleep)
        elif not self.waiting():
            self.idle_wait(IDLE_RENEW_SECONDS, stop=stop)

    def waiting(self) -> bool:
        """Is anything in the folder now? Asked just before IDLE: a new message announced in
        the reply to an earlier command (a MOVE, say) is not announced again during IDLE, so
        without this look it could wait until the IDLE is renewed."""
        return bool(self.client.search(["NOT", "DELETED"]))

    def idle_wait(self, seconds: float, stop=lambda: False, slice_seconds: float = 1.0) -> bool:
        """Hold IDLE up to `seconds` or until the server announces mail (True) or `stop()`.

        IDLE is entered once and checked in short slices, so a stop request is seen within
        `slice_seconds` without re-issuing the command."""
        self.client.idle()
        try:
            end = self.monotonic() + seconds
            while not stop() and self.monotonic() < end:
                responses = self.client.idle_check(timeout=slice_seconds)
                if not responses and self._hung_up():
                    raise ConnectionError("the server closed the connection during IDLE")
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return True
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionError("the server ended the IDLE session")
            return False
        finally:
            self.client.idle_done()

    def _hung_up(self) -> bool:
        """imapclient's idle_check swallows an EOF and returns nothing, as if the slice had
        passed quietly (a restarted server would make IDLE spin); ask the socket itself."""
        poller = select.poll()
        poller.register(self.client.socket().fileno(), select.POLLIN | _RDHUP)
        return any(ev & (_RDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in poller.poll(0))

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error worth raising
            pass
