"""Single sign-on with the partnership's identity provider: OpenID Connect, authorisation
code with PKCE (S256), through Authlib's Starlette client.

Microsoft Entra ID: an app registration (the one the mailbox uses may serve) with a Web
redirect URI `<desk.base_url>/sign-in/oidc/callback`, a client secret, and, for roles by
group, "groups" in the ID token's optional claims. Google Workspace: an OAuth client of type
Web application with the same redirect URI; `hosted_domain` keeps out other Google accounts.

Authlib keeps the state, nonce and PKCE verifier in the (signed) session between the two
legs, and checks the ID token's signature (the provider's JWKS), issuer, audience, expiry and
nonce. TLS to the provider is verified, against `ca_file` when one is named.
"""
from __future__ import annotations

import ssl
from functools import lru_cache

from authlib.integrations.starlette_client import OAuth, OAuthError

from tracker.desk.signin.settings import OidcSettings

__all__ = ["client", "OAuthError", "identity", "SignInRefused"]


class SignInRefused(Exception):
    """The provider's answer was valid but does not let this person in; the text says why."""


@lru_cache(maxsize=4)
def client(settings: OidcSettings):
    """The provider as an Authlib client. Its discovery document and keys are fetched at first
    use and kept (a cache: any instance fetches them again itself)."""
    oauth = OAuth()
    verify = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    oauth.register(
        name="idp",
        client_id=settings.client_id,
        client_secret=settings.client_secret(),
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "verify": verify,
                       "timeout": 10.0},
    )
    return oauth.idp


def identity(settings: OidcSettings, claims: dict) -> tuple[str, tuple[str, ...]]:
    """(address, groups) from a verified ID token's claims, or SignInRefused.

    Entra ID gives the address as `email` (when the user has one) or `preferred_username`
    (the UPN, which is the address in most tenants); Google as `email`, with `email_verified`."""
    if settings.provider == "google":
        if not claims.get("email_verified"):
            raise SignInRefused("Your Google account's email address is not verified.")
        if settings.hosted_domain and claims.get("hd") != settings.hosted_domain:
            raise SignInRefused("Sign in with your partnership Google Workspace account.")
    email = (claims.get("email") or claims.get("preferred_username") or "").strip().lower()
    if "@" not in email:
        raise SignInRefused("Your identity provider did not give an email address for you.")
    groups = claims.get(settings.groups_claim) or ()
    return email, tuple(str(g) for g in groups if isinstance(g, (str, int)))
