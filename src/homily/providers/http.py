"""One pooled aiohttp client session per upstream, created in the app's lifespan and closed on shutdown.

aiohttp was chosen by measurement over httpx: its connection pool keeps up under concurrency (see bench/).
"""

from __future__ import annotations

import aiohttp

from homily.providers.timeouts import UpstreamTimeouts


def new_session(timeouts: UpstreamTimeouts, max_connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_read=timeouts.idle),
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
        raise_for_status=False,
    )
