"""OAuth 1.0a request signature checking (HMAC-SHA1), written from RFC 5849.

Used by the X stand-in. Kept apart from x.py because the rules are the
RFC's, not X's: what goes into the signature base string, how parameters
are normalised, how the key is built.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

UNRESERVED = "-._~"


class OAuthError(ValueError):
    """Why a request's OAuth header was rejected (for the sandbox's log)."""


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: everything but ALPHA / DIGIT / - . _ ~."""
    return quote(value, safe=UNRESERVED)


def parse_authorization(header: str | None) -> dict[str, str]:
    """The parameters of an `Authorization: OAuth k="v", ...` header."""
    if not header or not header.strip().lower().startswith("oauth "):
        raise OAuthError("no OAuth Authorization header")
    params = {}
    for match in re.finditer(r'([\w.-]+)\s*=\s*"([^"]*)"',
                             header.strip()[len("oauth "):]):
        params[unquote(match.group(1))] = unquote(match.group(2))
    return params


def base_string_uri(url: str) -> str:
    """Scheme and host lower-cased, default port dropped, no query."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and not (scheme == "http" and port == 80) and \
            not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def signature_base_string(method: str, url: str, header_params: dict[str, str],
                          form_body: str | None = None) -> str:
    """Method, base URI and normalised parameters, each percent-encoded.

    Parameters come from the query string, the OAuth header (without
    oauth_signature and realm) and a form-encoded body; a JSON body is not
    part of the signature.
    """
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    pairs += [(k, v) for k, v in header_params.items()
              if k not in ("oauth_signature", "realm")]
    if form_body:
        pairs += parse_qsl(form_body, keep_blank_values=True)
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in pairs)
    normalised = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join([method.upper(), percent_encode(base_string_uri(url)),
                     percent_encode(normalised)])


def hmac_sha1_signature(base_string: str, consumer_secret: str,
                        token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode("utf-8"), base_string.encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"),
                               given.encode("ascii", "replace"))
