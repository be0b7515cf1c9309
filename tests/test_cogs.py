"""Every feature module drops in: it imports, has `setup`, and defines commands Discord accepts."""

import importlib
import inspect

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
