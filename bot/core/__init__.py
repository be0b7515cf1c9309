"""What every feature shares: settings, the database, errors, text handling, the Discord-edge
helpers (replies, views), and the formatting every renderer uses."""
