"""SHARD_COUNT: the bot on several gateway connections, each serving its own servers."""

from pathlib import Path

from bot.canon.seeding import load_seed
from bot.client import HeartstopperBot, ShardedHeartstopperBot, bot_class
from bot.core.config import DEFAULT_SEED_DIR, Settings
from bot.store import Store
from emulator import default_config
from emulator.testing import running_emulator, start_client, stop_client


class QuickShardedBot(ShardedHeartstopperBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """The emulator has no identify rate limit, so no 5 s pause between shards."""


def test_setting_picks_the_class() -> None:
    assert bot_class(Settings()) is HeartstopperBot
    assert bot_class(Settings(sharded=True)) is ShardedHeartstopperBot


async def test_commands_answer_on_every_shard(db_path: Path) -> None:
    settings = Settings(database_path=db_path, seed_dir=DEFAULT_SEED_DIR, sharded=True)
    async with await Store.open(db_path) as store, running_emulator(
            default_config(guilds=4, shard_count=2)) as emu:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        bot = QuickShardedBot(settings, store, guild_ready_timeout=0.05)
        task = await start_client(bot, emu)
        try:
            await bot.tree.sync()
            assert bot.shard_count == 2  # as GET /gateway/bot recommended
            assert len(bot.guilds) == 4
            shards = {guild.shard_id for guild in bot.guilds}
            assert shards == {0, 1}
            for guild in emu.config.guilds:
                result = await emu.invoke("about", guild_id=guild.id)
                assert result.errors == [] and result.embed["title"] == "Heartstopper bot"
        finally:
            await stop_client(bot, task)
