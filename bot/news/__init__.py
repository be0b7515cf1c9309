"""Season news delivery: an outbox in the store, worked through by a paced engine.

`NewsEngine.publish(draft)` is the one way a news item reaches subscribers (owner posts now,
feed items later): the item and its deliveries are written in one transaction, then workers
send them under one process-wide pace and each announcement channel's publish budget.
"""

from bot.news.engine import NewsEngine
from bot.news.timing import DeliveryTiming

__all__ = ["DeliveryTiming", "NewsEngine"]
