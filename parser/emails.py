"""One address, checked: syntax only (email-validator), normalised to lower case."""
from __future__ import annotations

import functools

from email_validator import EmailNotValidError, validate_email


@functools.lru_cache(maxsize=4096)  # ~0.2 ms a call (IDNA); the same workers write again and again
def check_email(address: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, why it is not valid)."""
    try:
        # Syntax only. test_environment admits RFC 2606 ".test" domains (training tenants,
        # fixtures); it changes nothing else for real addresses.
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return None, f"'{address}' is not a valid email address ({str(exc).rstrip('.')})"
    except Exception:
        return None, f"'{address}' is not a valid email address"
    return address.strip().lower(), None
