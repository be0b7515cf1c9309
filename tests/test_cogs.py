"""Every feature module drops in: it imports, has `setup`, and defines commands Discord accepts."""

import asyncio
import importlib
import inspect

from bot.characters.directory import CharacterDirectory
from bot.client import HeartstopperBot, discover_cogs
from bot.core.command_limits import MAX_GLOBAL_COMMANDS, definition_problems
from bot.core.config import Settings
from bot.store import Store


def test_every_cog_has_an_async_setup() -> None:
    names = discover_cogs()
    assert names, "no feature modules found in cogs/"
    for name in names:
        module = importlib.import_module(name)
        assert inspect.iscoroutinefunction(getattr(module, "setup", None)), name


async def test_commands_are_unique_and_within_discord_limits(settings: Settings,
                                                             store: Store) -> None:
    bot = HeartstopperBot(settings, store)
    try:
        for name in discover_cogs():
            await bot.load_extension(name)
        commands = bot.tree.get_commands()
        assert 0 < len(commands) <= MAX_GLOBAL_COMMANDS
        names = [c.name for c in commands]
        assert len(names) == len(set(names)), names
        problems = [p for c in commands for p in definition_problems(c.to_dict(bot.tree))]
        assert problems == []
    finally:
        await bot.close()


def test_the_limit_checker_catches_bad_definitions() -> None:
    bad = {"name": "Bad Name", "description": "x" * 101, "type": 1,
           "options": [{"name": "a", "description": "", "type": 3},
                       {"name": "a", "description": "ok", "type": 3, "required": True,
                        "choices": [{"name": "", "value": "v" * 101}] * 26}]}
    problems = "\n".join(definition_problems(bad))
    assert "name must be 1-32 lowercase" in problems
    assert "description must be 1-100 characters (is 101)" in problems
    assert "description must be 1-100 characters (is 0)" in problems
    assert "defined twice" in problems
    assert "26 choices" in problems
    assert "over 100 characters" in problems
    assert "required option 'a' after an optional one" in problems


async def test_extensions_load_in_any_order(settings: Settings, store: Store) -> None:
    """Features get what they need handed to them, never by looking another cog up: every
    order of loading gives the same commands."""
    names = discover_cogs()
    assert "cogs._news_feeds" not in names  # set up by cogs.news, not loaded on its own
    trees = []
    for order in (names, list(reversed(names))):
        bot = HeartstopperBot(settings, store, run_services=False)
        try:
            for name in order:
                await bot.load_extension(name)
            news = bot.tree.get_command("news")
            assert news is not None
            trees.append(sorted(c.qualified_name for c in bot.tree.walk_commands()))
        finally:
            await bot.close()
    assert trees[0] == trees[1]
    assert "news feed add" in trees[0] and "news review" in trees[0]


async def test_the_character_index_stays_fresh_for_whichever_feature_loaded_it(
        seeded_store: Store) -> None:
    directory = CharacterDirectory(seeded_store, every=0.02)
    await directory.keep_fresh()  # say the quotes feature, alone
    await directory.keep_fresh()  # and the characters feature
    before = len(directory.index)
    other = await Store.open(seeded_store.path)  # `db seed` beside the bot
    async with other, other.database.transaction() as db:
        await db.execute("INSERT INTO characters (seed_key, name, in_film, description,"
                         " arcs, role, source_keys) VALUES ('test-new', 'Brand New', 0,"
                         " 'x', '{}', 'other', '[]')")
    await directory.release()  # one feature unloads: the other still reads it
    for _ in range(200):
        if len(directory.index) == before + 1:
            break
        await asyncio.sleep(0.02)
    assert len(directory.index) == before + 1
    await directory.release()
    assert directory._task is None
