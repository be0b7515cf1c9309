"""The quotes feature's services: logic that is neither SQL (bot/quotes/store.py) nor Discord
glue (cogs/quotes.py): the rotation, search parsing, near-duplicates, submission rules and the
quote-of-the-day schedule."""
