"""Django's PostgreSQL backend, which does not wait for a database that has
just failed (DATABASE_URL's postgres:// selects it).

Every request that needs the database while it is down would otherwise
wait out the pool's timeout (1.5 s) holding one of the server's threads,
and requests queue behind them: in a 10 s outage answers took up to 8 s.
For a second after a connection failed (nexus.outage.RETRY), asking for a
connection fails at once with NotTried, which is answered 503 like the
failure itself; then one request tries again.
"""

from django.db.backends.postgresql import base

from nexus.outage import DATABASE, NotTried, database_unavailable


class DatabaseWrapper(base.DatabaseWrapper):
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
