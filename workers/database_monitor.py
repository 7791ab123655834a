"""A background thread that watches the database, so no probe ever waits for it."""

from __future__ import annotations

import logging

from storage import Database
from workers.periodic import Periodic

log = logging.getLogger(__name__)

DATABASE_CHECK_SECONDS = 1.0


class DatabaseMonitor(Periodic):
    """Pings the database every DATABASE_CHECK_SECONDS from its own thread and keeps the answer.

    Readiness and metrics read the last answer (probes never wait for a hung database), the
    ping opens or closes the database's circuit breaker, and whenever the database answers
    without its schema (created after start-up, or its tables dropped) `prepare` runs again.
    """

    def __init__(self, db: Database, prepare):
        super().__init__("database-monitor", DATABASE_CHECK_SECONDS)
        self.db = db
        self.prepare = prepare
        self.up = False

    def check(self) -> bool:
        reachable = self.db.ping()
        if reachable and not self.db.schema_ready:
            try:
                self.prepare()
            except Exception as error:
                log.warning("the database answers but its schema cannot be created: %s", error)
        up = reachable and self.db.schema_ready
        if up != self.up:
            log.log(
                logging.INFO if up else logging.ERROR, "the database is %s", "up" if up else "down"
            )
        self.up = up
        return up

    def step(self) -> None:
        self.check()
