"""Per-member cooldowns shared by a command and its buttons (so "Another" cannot be used to get
round the limit on `/quote random`). Time comes from the interaction's own snowflake, as in
discord.py's `app_commands.checks.cooldown`, and the error is the same CommandOnCooldown, which
bot/core/errors.py already answers with the time left."""

from __future__ import annotations

import discord
from discord import app_commands

_PRUNE_ABOVE = 1000


class MemberCooldown:
    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.per = per
        self._buckets: dict[tuple[int | None, int], tuple[app_commands.Cooldown, float]] = {}
        self._prune_above = _PRUNE_ABOVE

    def hit(self, interaction: discord.Interaction) -> None:
        """Count one use by this member; raise CommandOnCooldown when over the limit."""
        now = interaction.created_at.timestamp()
        if len(self._buckets) > self._prune_above:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < self.per}
            # With more members active at once than the threshold, pruning on every hit would
            # walk them all each time: wait until the buckets have doubled again.
            self._prune_above = max(_PRUNE_ABOVE, 2 * len(self._buckets))
        key = (interaction.guild_id, interaction.user.id)
        bucket = self._buckets.get(key, (app_commands.Cooldown(self.rate, self.per), now))[0]
        self._buckets[key] = (bucket, now)
        retry_after = bucket.update_rate_limit(now)
        if retry_after is not None:
            raise app_commands.CommandOnCooldown(bucket, retry_after)
