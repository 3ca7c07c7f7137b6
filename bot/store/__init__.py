"""The database of subscribers, campaigns and deliveries (SQLite or PostgreSQL), with its
versioned migrations. `Store.open(url)` is the one way in."""
