"""A no-op discord.py bot, the burst benchmark's yardstick: one fixed answer to every interaction
(a short message with one button for a command, one fixed choice for autocomplete, the same
message again for a press), and nothing else: no store, no rendering, no checks.

Run by the burst benchmark as a child process, pointed at the emulator by the same
DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN variables the bot reads (and SHARD_IDS /
SHARD_COUNT when given); it logs "ready as ..." on stderr like the bot does. What it costs to
serve an interaction is then discord.py's and the machine's share alone, which the bot's
capacity is compared with. It runs on the same event loop as the bot (EVENT_LOOP, uvloop where
installed), so the comparison is of the work alone.
"""

from __future__ import annotations

import asyncio
import os
import sys

import discord
import discord.gateway
import discord.http
import yarl

from bot.core.config import ConfigError, parse_settings
from bot.core.runtime import loop_name, run

FIXED_TEXT = "ok"
BUTTON_ID = "noop:again"


def fixed_view() -> discord.ui.View:
    """One button, never timing out: the same view object goes with every reply (no timer or
    view per message), and presses are answered in `on_interaction` like everything else."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Another", custom_id=BUTTON_ID))
    return view


def main() -> None:
    # Benchmark tooling, not the bot: it takes the emulator's address from its environment.
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    shard_ids = os.environ.get("SHARD_IDS")
    shard_count = os.environ.get("SHARD_COUNT")
    client: discord.Client
    if shard_ids or shard_count:
        client = discord.AutoShardedClient(
            intents=discord.Intents.default(),
            shard_ids=[int(s) for s in shard_ids.split(",")] if shard_ids else None,
            shard_count=int(shard_count) if shard_count else None)
    else:
        client = discord.Client(intents=discord.Intents.default())
    view = fixed_view()

    @client.event
    async def on_ready() -> None:
        print(f"event loop: {loop_name(asyncio.get_running_loop())}", file=sys.stderr)
        print(f"ready as {client.user} in {len(client.guilds)} servers", file=sys.stderr,
              flush=True)

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete(
                [discord.app_commands.Choice(name=FIXED_TEXT, value=FIXED_TEXT)])
        elif interaction.type is discord.InteractionType.application_command:
            await interaction.response.send_message(FIXED_TEXT, view=view)
        elif interaction.type is discord.InteractionType.component:
            await interaction.response.edit_message(content=FIXED_TEXT, view=view)

    async def serve() -> None:
        async with client:
            await client.start(os.environ["DISCORD_TOKEN"])

    try:  # EVENT_LOOP read as the bot reads it
        choice = parse_settings({"EVENT_LOOP": os.environ.get("EVENT_LOOP")}).event_loop
    except ConfigError as exc:
        sys.exit(f"noop_bot: {exc}")
    run(serve(), event_loop=choice)


if __name__ == "__main__":
    main()
