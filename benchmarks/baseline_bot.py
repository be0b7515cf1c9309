"""A default-configured discord.py bot, the memory baseline: `discord.Client` (or
`discord.AutoShardedClient` with --sharded) with `Intents.default()` and nothing else.

Run by the scale benchmark as a child process, pointed at the emulator by the same
DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN variables the bot reads; it logs
"ready as ..." on stderr like the bot does.
"""

from __future__ import annotations

import argparse
import os
import sys

import discord
import discord.gateway
import discord.http
import yarl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sharded", action="store_true")
    args = parser.parse_args()
    # Benchmark tooling, not the bot: it takes the emulator's address from its environment.
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    cls = discord.AutoShardedClient if args.sharded else discord.Client
    client = cls(intents=discord.Intents.default())

    @client.event
    async def on_ready() -> None:
        print(f"ready as {client.user} in {len(client.guilds)} servers", file=sys.stderr,
              flush=True)

    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)


if __name__ == "__main__":
    main()
