"""Django's PostgreSQL backend, which does not wait for a database that has
just failed, and checks pooled connections without a round trip
(DATABASE_URL's postgres:// selects it).

Every request that needs the database while it is down would otherwise
wait out the pool's timeout (1.5 s) holding one of the server's threads,
and requests queue behind them: in a 10 s outage answers took up to 8 s.
For a second after a connection failed (nexus.outage.RETRY), asking for a
connection fails at once with NotTried, which is answered 503 like the
failure itself; then one request tries again.

With CONN_HEALTH_CHECKS, Django gives the pool psycopg's check, an empty
query on every checkout: one more round trip for every batch the vote
committer writes. A server that shuts down or restarts tells its idle
connections (a FATAL message, then end of file), so an idle connection
whose socket has nothing to read is still good; only one that has is
given psycopg's check. Django builds the pool with its own check, so this
backend builds it (the same arguments as Django 5.2's `pool`, but `check`).
"""

import select

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

from nexus.outage import DATABASE, NotTried, database_unavailable


def check_connection(conn) -> None:
    """Raise if the pooled connection is not usable, as psycopg's check does."""
    if not conn.closed:
        poller = select.poll()  # select() refuses descriptors past 1023
        poller.register(conn.pgconn.socket, select.POLLIN)
        if not poller.poll(0):  # nothing from the server since it went idle
            return
    ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        if options and self.alias not in (base.NO_DB_ALIAS, *self._connection_pools):
            pool = ConnectionPool(
                kwargs={**self.get_connection_params(), "autocommit": True},
                open=False,
                configure=self._configure_connection,
                check=check_connection if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)  # first thread wins
        return super().pool

    def get_new_connection(self, conn_params):
        if DATABASE.skipping():
            raise NotTried("The database is not answering.")
        try:
            return super().get_new_connection(conn_params)
        except Exception as exc:
            wrapped = self.Database.OperationalError
            if isinstance(exc, wrapped) or database_unavailable(exc):
                DATABASE.failed(exc)
            raise
