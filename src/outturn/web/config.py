"""How the web application runs: cookie security and caching. Workspace settings come from ``outturn.toml``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebConfig:
    # Secure cookies always (set this behind a TLS-terminating proxy); on plain HTTP they are Secure only when
    # the request itself arrived over HTTPS.
    secure_cookies: bool = False
    # How long a computed page (the overview, the register's rows) is kept while the store's data is unchanged.
    cache_seconds: float = 300.0
    # How often the store is asked whether its data changed (other processes' edits show within this time).
    stamp_seconds: float = 1.0
    # How long a session looked up in the store is trusted in this process before it is checked again.
    session_cache_seconds: float = 15.0
    page_size: int = 50
