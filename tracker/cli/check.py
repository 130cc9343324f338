"""`escalations check`: validate config.toml, then reach every configured server; one line each."""
from __future__ import annotations

import asyncio
import threading

import sqlalchemy as sa

from tracker.cli import probe
from tracker.cli.terminal import out
from tracker.daemon.clock import Clock
from tracker.daemon.app import tls_context
from tracker.errors import ConfigError


def check(config_path: str, clock: Clock, partnership: str | None = None) -> int:
    """Every partnership of the deployment (or the one named), one line per check."""
    from tracker.config.deployment import choose, load_deployment

    try:
        everyone = configs = load_deployment(config_path)
        if partnership:
            configs = [choose(configs, partnership)]
    except ConfigError as exc:
        out(f"config   FAIL  {exc}")
        return 2  # a config given wrong, as every other command says it (README: exit 2)
    ok = True
    for config in configs:
        ok = _check_one(config, clock) and ok
    _partnerships(everyone)
    return 0 if ok else 1


def _check_one(config, clock: Clock) -> bool:
    out(f"config   ok    {config.path}: partnership {config.partnership.id}, policy {config.partnership.policy.name}")
    _assumptions(config.partnership.policy)
    _templates_folder(config)
    p = config.partnership
    inbox = _inbox(p.inbox, clock)
    results = [_authentication(p), _templates(p.templates_dir), _database(config.database_url), inbox,
               _outgoing(p.outgoing, clock)]
    if p.security.receiving_server not in ("", "none") and inbox[1]:
        results.append(_verdicts_in_mailbox(p, clock))
    if config.desk:
        results.append(_desk(config))
    for name, ok, detail in results:
        out(f"{name:<8} {'ok  ' if ok else 'FAIL'}  {detail}")
    return all(ok for _, ok, _ in results)


def _authentication(p) -> tuple[str, bool, str]:
    """Whose word confirms a sender, plainly; warnings printed where it is off or may not
    reach this mailbox. Not set fails: no message could open or move a case."""
    sec, where = p.security, f"{p.inbox.host}" if p.inbox.kind == "imap" else "a local folder"
    if sec.migrated:
        out(f"security WARN  security.trusted_authserv_ids / require_authentication are replaced by "
              f"receiving_server: {sec.migrated}; mail with no result from it is now refused too")
    if sec.receiving_server == "":
        return "security", False, ("authentication cannot be applied: security.receiving_server is not set, so no "
                                   "sender can be confirmed and no message will open or move a case (each is "
                                   'quarantined); set it to "microsoft", "google" or "self-hosted" (README.md, Security)')
    if sec.receiving_server == "none":
        out('security WARN  AUTHENTICATION IS OFF (receiving_server = "none"): any From is believed, so forged '
              "mail can open, move and withdraw cases; only for a local demo or a test rig")
        return "security", True, 'receiving_server = "none": no sender is checked'
    hosts = {"microsoft": (".office365.com", ".outlook.com"), "google": (".gmail.com", ".googlemail.com")}
    expected = hosts.get(sec.receiving_server)
    if p.inbox.kind != "imap" or (expected and not p.inbox.host.lower().endswith(expected)):
        out(f"security WARN  the inbox is {where}, not a {sec.receiving_server} mailbox: authentication can be "
              f"applied only if its mail arrives through {sec.receiving_server} with its Authentication-Results")
    who = {"microsoft": "Exchange Online (its Authentication-Results, compauth, ARC from mx.microsoft.com)",
           "google": "Google (mx.google.com)"}.get(sec.receiving_server, f"the MX writing {', '.join(sec.authserv_ids)}")
    return "security", True, f"a message acts only when {who} says dmarc=pass for its From domain"


def _verdicts_in_mailbox(p, clock: Clock, n: int = 5) -> tuple[str, bool, str]:
    """Does mail in this mailbox carry the named receiver's verdict? The newest messages of
    each folder are read (headers only): if none does, authentication cannot be applied here."""
    from tracker.daemon.app import open_inbox
    from tracker.incoming.authenticity import verdicts_in

    try:
        inbox = open_inbox(p.inbox, clock)
        try:
            heads = inbox.recent_heads(("INBOX", p.inbox.processed_folder, p.inbox.quarantine_folder), n)
        finally:
            inbox.close()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return "security", False, f"could not read the mailbox's newest headers: {exc.__class__.__name__}: {exc}"
    carried, others = verdicts_in(p.security, heads)
    if not heads:
        return "security", True, f"no mail in the mailbox yet to show {p.security.receiving_server}'s verdict"
    seen = f"; the others' topmost Authentication-Results: {', '.join(sorted(set(others)))}" if others else ""
    said = f"{carried} of the newest {len(heads)} messages carry {p.security.receiving_server}'s verdict{seen}"
    if carried == 0:
        return "security", False, f"authentication cannot be applied to this mailbox: {said}; check receiving_server"
    return "security", True, said


def _assumptions(policy) -> None:
    """A warning (not a failure) for each value the preset assumed, until config.toml confirms it."""
    from tracker.policy.assumed import assumed_values

    for what, how in assumed_values(policy):
        out(f"policy   WARN  {what} is this preset's assumption, not the policy's; confirm or change it "
              f"in config.toml: {how}")


def _templates_folder(config) -> None:
    """A templates folder named in the file but not there: the mail would silently be the
    shipped wording, not the partnership's own."""
    from tracker.config.load import read_toml

    own = config.partnership.templates_dir
    try:
        named = "dir" in read_toml(config.path).get("templates", {})
    except (ConfigError, AttributeError):
        named = False
    if named and not own.is_dir():
        out(f"template WARN  [templates] dir {own} is {'not a folder' if own.exists() else 'missing'}: every mail "
            "uses the shipped wording; correct the path in " f"{config.path}, or remove the key to mean the shipped templates")


def _partnerships(configs) -> None:
    """Cases in a database under a partnership id no config has: partnership.id was changed
    (or mistyped), and every one of those cases is out of sight of the service and the desk."""
    from tracker.storage.db import make_engine
    from tracker.storage.models import Case

    ids = {c.partnership.id for c in configs}
    for url in dict.fromkeys(c.database_url for c in configs):
        try:
            with make_engine(url).connect() as conn:
                held = dict(conn.execute(sa.select(Case.partnership, sa.func.count()).group_by(Case.partnership)).all())
        except Exception:  # noqa: BLE001 - no database or no schema yet: _database says so
            continue
        for other in sorted(set(held) - ids):
            out(f"database WARN  holds {held[other]} case(s) of partnership {other!r}, which no config here has "
                f"(partnership.id is {', '.join(repr(i) for i in sorted(ids))}): if the id was changed, put it back "
                f"to {other!r}; the service and the desk see only the cases of their own id")


def _desk(config) -> tuple[str, bool, str]:
    """[desk] is valid; a session key not set yet is said, not failed (the daemon needs none)."""
    from tracker.desk.signin.settings import desk_settings

    try:
        desk = desk_settings(config)
    except ConfigError as exc:
        return "desk", False, str(exc.in_file(config.path) if exc.file == "config.toml" else exc)
    ways = ", ".join(w for w, on in (("links by email", desk.links), (f"{desk.oidc and desk.oidc.label} sign-in",
                                                                     desk.oidc)) if on)
    try:
        desk.session_secret()
        key = ""
    except ConfigError as exc:
        key = f"; not servable yet: {exc}"
    return "desk", True, f"{desk.base_url}, sign-in with {ways}{key}"


def _templates(own) -> tuple[str, bool, str]:
    """The partnership's own templates (and the shipped ones they fall back to) compile."""
    from mailer.compose import Composer
    from tracker.daemon.app import SHIPPED_TEMPLATES

    where = f"{own} (own), then the shipped ones" if own and own.is_dir() else "the shipped ones"
    problems = Composer([own, SHIPPED_TEMPLATES]).problems()
    if problems:
        return "template", False, f"{where}: " + "; ".join(problems[:5]) + \
            (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return "template", True, where


def _database(url: str) -> tuple[str, bool, str]:
    from tracker.storage.db import make_engine

    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    try:
        with make_engine(url).connect() as conn:
            conn.execute(sa.text("select 1"))
        return "database", True, shown
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return "database", False, f"{shown}: {exc.__class__.__name__}: {exc}"


def _inbox(cfg, clock: Clock) -> tuple[str, bool, str]:
    from tracker.daemon.app import open_inbox

    where = str(cfg.path) if cfg.kind == "maildir" else f"{cfg.security} {cfg.host}:{cfg.port} as {cfg.username}"
    budget = probe.Budget(probe.BUDGET_SECONDS, clock.monotonic)
    try:
        if cfg.kind != "maildir":
            probe.reach("imap", "inbox", cfg, tls_context(cfg), budget)
        _in_time(lambda: open_inbox(cfg, clock, timeout=budget.left()).close(), budget)
        return "inbox", True, f"{cfg.kind} {where}" + _signed_in(cfg)
    except probe.StageFailed as exc:
        return "inbox", False, f"{cfg.kind} {where}: {exc}"
    except Exception as exc:  # noqa: BLE001
        return "inbox", False, f"{cfg.kind} {where}" + _failed(cfg, exc)


def _outgoing(cfg, clock: Clock) -> tuple[str, bool, str]:
    from tracker.daemon.app import open_transport

    where = str(cfg.path) if cfg.kind == "maildir" else f"{cfg.security} {cfg.host}:{cfg.port}"
    if cfg.kind != "maildir" and cfg.username:
        where += f" as {cfg.username}"
    budget = probe.Budget(probe.BUDGET_SECONDS, clock.monotonic)

    async def sign_in():
        transport = open_transport(cfg, clock, timeout=budget.left())
        try:
            await asyncio.wait_for(transport.connect(), budget.left())
        finally:
            await transport.close()

    try:
        if cfg.kind != "maildir":
            probe.reach("smtp", "outgoing", cfg, tls_context(cfg), budget)
        asyncio.run(sign_in())
        return "outgoing", True, f"{cfg.kind} {where}" + _signed_in(cfg)
    except probe.StageFailed as exc:
        return "outgoing", False, f"{cfg.kind} {where}: {exc}"
    except Exception as exc:  # noqa: BLE001
        return "outgoing", False, f"{cfg.kind} {where}" + _failed(cfg, exc)


def _in_time(work, budget: probe.Budget) -> None:
    """Run `work` (a blocking client) within what is left of `budget`; a client that hangs is
    left to its own timeout in a thread nobody waits for."""
    failed: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True, name="check-sign-in")
    thread.start()
    thread.join(budget.left())
    if thread.is_alive():
        raise probe.StageFailed("sign-in", f"no answer within {budget.seconds:.0f} s")
    if failed:
        raise failed[0]


def _signed_in(cfg) -> str:
    if cfg.kind == "maildir":
        return ""
    return f", signed in with {cfg.sign_in}" if cfg.username else ", no sign-in"


def _failed(cfg, exc: BaseException) -> str:
    """Why, in the words of whoever refused: the identity provider's own text (AADSTS...)
    rather than the mail server's "authentication failed" when the provider said more."""
    from aiosmtplib import SMTPAuthenticationError
    from imapclient.exceptions import LoginError

    from mailer.oauth import SignInRefused, TokenError

    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f": sign-in: no answer within {probe.BUDGET_SECONDS:.0f} s"
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    cause = next((e for e in chain if isinstance(e, TokenError)), chain[-1])
    reason = f"{cause.__class__.__name__}: {cause}"
    if cfg.kind != "maildir" and any(isinstance(e, (TokenError, SignInRefused, LoginError, SMTPAuthenticationError))
                                     for e in chain):
        return f": sign-in with {cfg.sign_in} FAILED: {reason}"
    return f": {reason}" + (f" (sign-in with {cfg.sign_in} not done)" if cfg.kind != "maildir" else "")
