"""RSS/Atom feed ingestion: feeds the owners follow become news items in the news outbox.

fetcher (HTTP) -> parser (feedparser, text cleaned) -> ingest (dedupe, filters, review, publish,
then mark seen) -> poller (schedule, backoff, disabling). The store side is bot/feeds/store.py.
"""

from bot.feeds.poller import AddResult, FeedAddError, FeedPoller, PollResult
from bot.feeds.timing import FeedTiming

__all__ = ["AddResult", "FeedAddError", "FeedPoller", "FeedTiming", "PollResult"]
