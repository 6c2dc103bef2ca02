"""The analyst's logged-in session, handed over from Tor Browser as cookies."""
from __future__ import annotations

from http.cookiejar import LoadError, MozillaCookieJar
from pathlib import Path


class SessionError(ValueError):
    pass


def _domain_matches(cookie_domain: str, host: str) -> bool:
    domain = cookie_domain.lstrip(".").lower()
    return host == domain or host.endswith("." + domain)


def load_cookies(spec: str | None, host: str) -> dict[str, str]:
    """Cookies for ``host`` from a Netscape cookies.txt path, or from a ``a=1; b=2`` header string."""
    if not spec:
        return {}
    if "=" in spec and not Path(spec).exists():
        cookies = {}
        for part in spec.split(";"):
            name, sep, value = part.strip().partition("=")
            if not sep or not name:
                raise SessionError(f"cookie header part {part.strip()!r} is not name=value")
            cookies[name] = value
        return cookies
    jar = MozillaCookieJar()
    try:
        jar.load(spec, ignore_discard=True, ignore_expires=True)
    except (OSError, LoadError) as exc:
        raise SessionError(f"cannot read cookies file {spec}: {exc}") from None
    return {c.name: c.value or "" for c in jar if _domain_matches(c.domain, host.lower())}
