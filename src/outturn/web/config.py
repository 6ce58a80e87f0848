"""How the web application runs: cookies, sessions, request limits, proxies and caching. Workspace settings come
from ``outturn.toml``; these from ``create_app``'s caller (``outturn serve`` reads them from the environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass


# look-alike of domain/savings.SavingsFigures' fields (shape only): declarative, settings with their defaults.
@dataclass(frozen=True)
class WebConfig:
    # Secure cookies always (set this behind a TLS-terminating proxy); on plain HTTP they are Secure only when
    # the request itself arrived over HTTPS.
    secure_cookies: bool = False
    # How long a computed page (the overview, the register's rows) is kept while the store's data is unchanged.
    cache_seconds: float = 300.0
    # How often the store is asked whether its data changed (other processes' edits show within this time).
    stamp_seconds: float = 1.0
    # How long the expensive pages (the overview, the position, the savings register) may go on showing figures
    # that a change has overtaken, saying so ("figures as at 06:31:02; refreshing"), while they are recomputed in
    # the background; after that a page waits for the new figures. Whoever made the change never sees the old ones.
    stale_seconds: float = 5.0
    # Under a stream of changes each such page is recomputed at most once every this many seconds (so figures are
    # up to about this plus a computation's time behind, within ``stale_seconds``), not once per change.
    refresh_seconds: float = 2.0
    # How long a session looked up in the store is trusted in this process before it is checked again.
    session_cache_seconds: float = 15.0
    # A session unused for this long ends (each use moves its end on; ten hours after sign-in it ends regardless).
    session_idle_minutes: float = 30.0
    page_size: int = 50
    # The largest request body anyone may send (forms, JSON), and an import file a finance or admin user may upload.
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024
    # Addresses (or networks, e.g. 10.0.0.0/8) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto
    # headers are believed; from anyone else they are ignored. None by default.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls) -> WebConfig:
        """``OUTTURN_WEB_SECURE_COOKIES`` (any value), ``OUTTURN_WEB_TRUSTED_PROXIES`` (comma-separated),
        ``OUTTURN_WEB_SESSION_IDLE_MINUTES`` and ``OUTTURN_WEB_MAX_UPLOAD_MB``; unset ones keep their defaults."""
        defaults = cls()
        proxies = os.environ.get("OUTTURN_WEB_TRUSTED_PROXIES", "")
        idle = os.environ.get("OUTTURN_WEB_SESSION_IDLE_MINUTES")
        upload_mb = os.environ.get("OUTTURN_WEB_MAX_UPLOAD_MB")
        return cls(
            secure_cookies=bool(os.environ.get("OUTTURN_WEB_SECURE_COOKIES")),
            trusted_proxies=tuple(item.strip() for item in proxies.split(",") if item.strip()),
            session_idle_minutes=float(idle) if idle else defaults.session_idle_minutes,
            max_upload_bytes=int(float(upload_mb) * 1024 * 1024) if upload_mb else defaults.max_upload_bytes,
        )
