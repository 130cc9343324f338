"""How `escalations check` reaches a mail server: stage by stage, ten seconds in all, so a
failure names the stage (connect, TLS, greeting, sign-in) and what to do about it.

The stages before sign-in are done here on a plain socket (connect; TLS at once for
security "tls", or the greeting and STARTTLS for "starttls"); then the service's own client
signs in, in what is left of the budget. A certificate that does not verify is read once
more on a second connection without verification, only to say which names it covers and
who issued it: nothing is sent over that connection.
"""
from __future__ import annotations

import socket
import ssl
import time
from typing import Callable

BUDGET_SECONDS = 10.0
_VERIFY_NAME = 62  # X509_V_ERR_HOSTNAME_MISMATCH; 64 is IP_ADDRESS_MISMATCH
_VERIFY_IP = 64


class StageFailed(Exception):
    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


class Budget:
    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic):
        self.seconds, self.monotonic = seconds, monotonic
        self.end = monotonic() + seconds

    def left(self) -> float:
        return max(0.05, self.end - self.monotonic())


def reach(protocol: str, section: str, cfg, context: ssl.SSLContext, budget: Budget) -> None:
    """Connect, TLS and greeting of `cfg` ("imap" or "smtp"); StageFailed names what failed."""
    sock = _connect(cfg, budget)
    try:
        if cfg.security == "tls":
            sock = _tls(sock, cfg, context, section, protocol, budget)
            _greeting(sock, protocol, cfg, budget)
        else:
            _greeting(sock, protocol, cfg, budget)
            if cfg.security == "starttls":
                _starttls(sock, protocol, budget)
                sock = _tls(sock, cfg, context, section, protocol, budget)
    finally:
        sock.close()


def _connect(cfg, budget: Budget) -> socket.socket:
    try:
        return socket.create_connection((cfg.host, cfg.port), timeout=budget.left())
    except socket.gaierror as exc:
        raise StageFailed("connect", f"cannot find the host {cfg.host!r} ({exc.strerror}); check host") from None
    except TimeoutError:
        raise StageFailed("connect", f"no answer from {cfg.host}:{cfg.port} within {budget.seconds:.0f} s "
                          "(a firewall, or the wrong host or port)") from None
    except OSError as exc:
        raise StageFailed("connect", f"{exc.strerror or exc} at {cfg.host}:{cfg.port}; check host and port, "
                          "and that the server is running") from None


def _tls(sock, cfg, context, section: str, protocol: str, budget: Budget):
    sock.settimeout(budget.left())
    try:
        return context.wrap_socket(sock, server_hostname=cfg.host)
    except ssl.SSLCertVerificationError as exc:
        raise StageFailed("TLS", _certificate_problem(exc, cfg, section, protocol, budget)) from None
    except (TimeoutError, socket.timeout):
        raise StageFailed("TLS", f"the server accepted the connection but did not answer the TLS handshake within "
                          f"{budget.seconds:.0f} s; is {cfg.port} a port for security = \"{cfg.security}\"?") from None
    except ssl.SSLError as exc:
        raise StageFailed("TLS", f"the handshake failed ({exc.reason or exc}); is {cfg.port} a port for "
                          f"security = \"{cfg.security}\"?") from None
    except OSError as exc:
        raise StageFailed("TLS", f"the connection ended during the handshake ({exc.strerror or exc})") from None


def _lines(sock, budget: Budget, stage: str, what: str):
    """Lines from the server, each within what is left of the budget."""
    buf = b""
    while True:
        while b"\n" not in buf:
            sock.settimeout(budget.left())
            try:
                chunk = sock.recv(4096)
            except (TimeoutError, socket.timeout):
                raise StageFailed(stage, f"the server accepted the connection but sent no {what} within "
                                  f"{budget.seconds:.0f} s (is this the right port, and is the server well?)") from None
            except OSError as exc:
                raise StageFailed(stage, f"the connection ended before the {what} ({exc.strerror or exc})") from None
            if not chunk:
                raise StageFailed(stage, f"the server closed the connection before its {what}")
            buf += chunk
            if len(buf) > 65536:
                raise StageFailed(stage, f"the server sent more than 64 KiB without a line end: not an IMAP or SMTP {what}")
        line, _, buf = buf.partition(b"\n")
        yield line.rstrip(b"\r").decode("utf-8", "replace")


def _greeting(sock, protocol: str, cfg, budget: Budget) -> None:
    line = next(_lines(sock, budget, "greeting", "greeting"))
    if protocol == "imap" and not line.upper().startswith(("* OK", "* PREAUTH")):
        raise StageFailed("greeting", f"not an IMAP server's greeting: {line[:120]!r}; check the port "
                          f"({'993' if cfg.security == 'tls' else '143'} is usual for security = \"{cfg.security}\")")
    if protocol == "smtp" and not line.startswith("220"):
        raise StageFailed("greeting", f"not an SMTP server's greeting: {line[:120]!r}; check the port "
                          f"({'465' if cfg.security == 'tls' else '587'} is usual for security = \"{cfg.security}\")")


def _starttls(sock, protocol: str, budget: Budget) -> None:
    if protocol == "imap":
        sock.sendall(b"c1 STARTTLS\r\n")
        for line in _lines(sock, budget, "TLS", "answer to STARTTLS"):
            if line.startswith("c1 "):
                if not line[3:].upper().startswith("OK"):
                    raise StageFailed("TLS", f"the server refused STARTTLS: {line[:120]!r}")
                return
    sock.sendall(b"EHLO escalations-check.invalid\r\n")
    for line in _lines(sock, budget, "TLS", "answer to EHLO"):
        if line[3:4] == " ":
            break
    sock.sendall(b"STARTTLS\r\n")
    line = next(_lines(sock, budget, "TLS", "answer to STARTTLS"))
    if not line.startswith("220"):
        raise StageFailed("TLS", f"the server refused STARTTLS: {line[:120]!r}")


def _certificate_problem(exc: ssl.SSLCertVerificationError, cfg, section: str, protocol: str, budget) -> str:
    names, issuer = peer_names(cfg, protocol, budget)
    covers = f"it covers {', '.join(names) or 'no names'}" + (f", issued by {issuer!r}" if issuer else "")
    if exc.verify_code in (_VERIFY_NAME, _VERIFY_IP):
        return (f"the certificate is not valid for {cfg.host!r}: {covers}. Set [{section}] host to a name it "
                f"covers (or have the certificate reissued for {cfg.host})")
    ca = (f"[{section}] ca_file ({cfg.ca_file}) does not hold the CA that issued it" if cfg.ca_file else
          f"if a private CA issued it, name that CA's certificate (PEM) in [{section}] ca_file = \"/path/ca.pem\"")
    return f"the certificate is not trusted ({exc.verify_message}): {covers}; {ca}"


def peer_names(cfg, protocol: str, budget: Budget) -> tuple[list[str], str]:
    """(the names the server's certificate covers, its issuer), read without verifying it."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    blind = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    blind.check_hostname, blind.verify_mode = False, ssl.CERT_NONE
    try:
        sock = _connect(cfg, budget)
        try:
            if cfg.security == "starttls":
                _greeting(sock, protocol, cfg, budget)
                _starttls(sock, protocol, budget)
            sock.settimeout(budget.left())
            with blind.wrap_socket(sock, server_hostname=cfg.host) as tls:
                der = tls.getpeercert(binary_form=True)
        finally:
            sock.close()
        cert = x509.load_der_x509_certificate(der)
    except (StageFailed, OSError, ValueError, TypeError):
        return [], ""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return names, str(issuer[0].value) if issuer else cert.issuer.rfc4514_string()
