"""Building upstream URLs safely, and rewriting them for ``HALO_API_BASE_URL``.

Every path segment that may hold user text goes through :func:`segment`, so a
gamertag can never add a path segment, a query string or another host.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

# Hosts the bot talks to. Only the Halo hosts ever receive the Spartan token.
PROFILE_HOST = "profile.svc.halowaypoint.com"
STATS_HOST = "halostats.svc.halowaypoint.com"
SKILL_HOST = "skill.svc.halowaypoint.com"
ECONOMY_HOST = "economy.svc.halowaypoint.com"
GAMECMS_HOST = "gamecms-hacs.svc.halowaypoint.com"
DISCOVERY_HOST = "discovery-infiniteugc.svc.halowaypoint.com"
SETTINGS_HOST = "settings.svc.halowaypoint.com"
XBOX_USER_HOST = "user.auth.xboxlive.com"
XSTS_HOST = "xsts.auth.xboxlive.com"
MICROSOFT_LOGIN_HOST = "login.microsoftonline.com"

HALO_HOSTS = frozenset(
    {
        PROFILE_HOST,
        STATS_HOST,
        SKILL_HOST,
        ECONOMY_HOST,
        GAMECMS_HOST,
        DISCOVERY_HOST,
        SETTINGS_HOST,
    }
)


def segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``?``, ``#``, ``%`` and ``..`` cannot escape it."""
    # surrogatepass: a lone surrogate is percent-encoded instead of raising.
    encoded = quote(value.encode("utf-8", "surrogatepass"), safe="()")
    if encoded in (".", ".."):
        # A lone dot segment would be normalised away by servers and proxies.
        encoded = encoded.replace(".", "%2E")
    return encoded


def build_url(host: str, path: str, query: dict[str, str] | None = None) -> str:
    """``https://{host}{path}?{query}``. ``path`` must already be built from :func:`segment`."""
    if not path.startswith("/"):
        raise ValueError("path must start with '/'")
    url = f"https://{host}{path}"
    if query:
        url += "?" + urlencode(query, safe="(),")
    return url


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_halo_host(url: str) -> bool:
    """True when ``url`` (before any rewriting) is a Halo host that gets the Halo headers."""
    parts = urlsplit(url)
    return parts.scheme == "https" and (parts.hostname or "").lower() in HALO_HOSTS


def rewrite_url(url: str, base: str | None) -> str:
    """Map ``https://HOST/PATH?Q`` to ``{base}/HOST/PATH?Q`` when ``base`` is set."""
    if not base:
        return url
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"not an absolute https URL: {url!r}")
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    return f"{base.rstrip('/')}/{parts.netloc}{rest}"
