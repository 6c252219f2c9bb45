"""The database: schema, migrations, the sink from ``news.classified``, rollups and the read
queries used by the dashboard and alerts. Only this package defines tables."""
