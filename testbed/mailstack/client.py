"""The API tests use on a running mail stack: IMAP and SMTP sessions as the users, sending
through Postfix, reading and waiting for mail, clearing mailboxes and the queue.

``MailClient`` is the client half of ``MailStack``; it needs the stack's ``layout``, ports,
``password``, ``users`` and ``ca_file``.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

from imapclient import IMAPClient

from testbed.mailstack.layout import HOST, Layout
from testbed.mailstack.requirements import POSTSUPER
from testbed.wait import wait_until


class MailClient:
    """Sessions and mail of a started stack, as its users see them."""

    host = HOST
    layout: Layout
    users: list[str]
    password: str
    imaps_port: int | None
    imap_port: int | None
    smtp_port: int | None

    @property
    def ca_file(self) -> Path:
        raise NotImplementedError

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA; hostname checking on."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def imap(self, user: str, *, starttls: bool = False, password: str | None = None,
             timeout: float = 30) -> IMAPClient:
        """An IMAPClient logged in as *user*: IMAPS, or plain IMAP + STARTTLS if *starttls*.
        The certificate is verified against the test CA, host name included."""
        ctx = self.ssl_context()
        if starttls:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
            client.starttls(ctx)
        else:
            client = IMAPClient(self.host, port=self.imaps_port, ssl=True, ssl_context=ctx, timeout=timeout)
        client.login(user, self.password if password is None else password)
        return client

    @contextlib.contextmanager
    def _session(self, user: str) -> Iterator[IMAPClient]:
        client = self.imap(user)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def smtp(self, auth_user: str | None = None, *, password: str | None = None,
             timeout: float = 30) -> smtplib.SMTP:
        """An smtplib.SMTP connected to Postfix, after STARTTLS (verified) and, if *auth_user*
        is given, AUTH as that user."""
        client = smtplib.SMTP(self.host, self.smtp_port, local_hostname="client.localhost", timeout=timeout)
        try:
            client.ehlo()
            client.starttls(context=self.ssl_context())
            client.ehlo()
            if auth_user is not None:
                client.login(auth_user, self.password if password is None else password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str], auth_user: str | None = None,
             *, authenticate: bool = True) -> dict:
        """Submit *raw* through Postfix with STARTTLS and AUTH as *auth_user* (default:
        *mail_from*); ``authenticate=False`` sends like an outside MX would. Returns
        smtplib's dict of refused recipients (raises if all were refused)."""
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        client = self.smtp((auth_user or mail_from) if authenticate else None)
        try:
            return client.sendmail(mail_from, rcpt_to, raw)
        finally:
            with contextlib.suppress(Exception):
                client.quit()

    @staticmethod
    def _fetch_all(client: IMAPClient) -> list[bytes]:
        uids = sorted(client.search("ALL"))
        if not uids:
            return []
        out = []
        for i in range(0, len(uids), 500):
            batch = uids[i : i + 500]
            data = client.fetch(batch, ["BODY.PEEK[]"])
            out.extend(data[uid][b"BODY[]"] for uid in batch if uid in data)
        return out

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Every message in *folder* of *user*, raw, in UID order (does not set \\Seen)."""
        with self._session(user) as client:
            client.select_folder(folder, readonly=True)
            return self._fetch_all(client)

    def wait_for(self, user: str, count: int, folder: str = "INBOX", timeout: float = 20) -> list[bytes]:
        """Poll until *folder* of *user* holds at least *count* messages; return them all.
        The folder may not exist yet (the service under test creates its own)."""
        errors: list[Exception] = []  # the last poll's, if it failed

        with self._session(user) as client:
            def arrived() -> bool:
                errors.clear()
                try:
                    return client.select_folder(folder, readonly=True)[b"EXISTS"] >= count
                except IMAPClient.Error as e:  # e.g. folder not created yet
                    errors.append(e)
                    return False

            if wait_until(arrived, timeout):
                return self._fetch_all(client)
            last_error = errors[0] if errors else None
            seen: list[bytes] = []
            with contextlib.suppress(IMAPClient.Error):
                client.select_folder(folder, readonly=True)
                seen = self._fetch_all(client)
            all_folders = [f[2] for f in client.list_folders()]
        summary = "\n".join(f"  - {_summary(m)}" for m in seen) or "  (none)"
        raise AssertionError(
            f"expected at least {count} message(s) in {user} {folder} within {timeout} s, saw {len(seen)}"
            + (f" (last error: {last_error})" if last_error else "")
            + f":\n{summary}\nfolders of {user}: {all_folders}\nPostfix queue: {self.queue_size()} message(s)"
        )

    def folders(self, user: str) -> list[str]:
        with self._session(user) as client:
            return sorted(f[2] for f in client.list_folders())

    def clear(self, user: str | None = None) -> None:
        """Empty every folder of *user* (default: all users) and delete all folders but INBOX.
        With no *user*, also deletes everything still queued in Postfix, so mail in flight
        from one test cannot land in the next."""
        if user is None and self.layout.postfix_spool.is_dir() and (self.layout.postfix_spool / "active").is_dir():
            subprocess.run(
                [POSTSUPER, "-c", str(self.layout.postfix_etc), "-d", "ALL"],
                stdin=subprocess.DEVNULL, capture_output=True, check=False,
            )
        for u in [user] if user else self.users:
            with self._session(u) as client:
                names = [f[2] for f in client.list_folders()]
                delim = "/"
                # children before parents
                for name in sorted((n for n in names if n.upper() != "INBOX"),
                                   key=lambda n: n.count(delim), reverse=True):
                    with contextlib.suppress(IMAPClient.Error):
                        client.unsubscribe_folder(name)
                    client.delete_folder(name)
                client.select_folder("INBOX")
                uids = client.search("ALL")
                if uids:
                    client.add_flags(uids, [b"\\Deleted"], silent=True)
                    client.expunge()
                client.close_folder()
                for name in client.list_sub_folders():  # stale subscriptions
                    if name[2].upper() != "INBOX":
                        with contextlib.suppress(IMAPClient.Error):
                            client.unsubscribe_folder(name[2])

    def queue_size(self) -> int:
        """Messages in Postfix's queue (incoming, active, deferred, hold, maildrop)."""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            d = self.layout.postfix_spool / sub
            if d.is_dir():
                n += sum(len(files) for _, _, files in os.walk(d))
        return n


def _summary(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    fields = {}
    for line in head.splitlines():
        for name in (b"subject", b"from", b"to"):
            if line.lower().startswith(name + b":"):
                fields[name.decode()] = line.split(b":", 1)[1].strip().decode(errors="replace")
    return ", ".join(f"{k}: {v}" for k, v in fields.items()) or repr(raw[:80])
