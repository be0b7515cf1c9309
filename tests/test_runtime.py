"""The event loop (EVENT_LOOP) and JSON library the bot runs with. The child-process tests
(graceful stop, shard takeover) run the real bot on the loop `auto` picks."""

import asyncio
import concurrent.futures
import sys
from pathlib import Path

import discord
import pytest

import bot.cli
from bot.cli import _stop_on_signals, main
from bot.core.config import ConfigError, parse_settings
from bot.core.runtime import EventLoopUnavailable, json_problem, loop_factory, loop_name, run


async def running_loop_name() -> str:
    await asyncio.sleep(0)  # a real turn of the loop, timers included
    return loop_name(asyncio.get_running_loop())


# uvloop is a dependency everywhere but Windows and PyPy: a missing install fails here, not
# skips.
@pytest.mark.skipif(sys.platform == "win32" or sys.implementation.name != "cpython",
                    reason="uvloop supports neither Windows nor PyPy")
def test_auto_runs_on_uvloop_where_it_is_installed() -> None:
    assert run(running_loop_name()) == "uvloop"
    assert run(running_loop_name(), event_loop="uvloop") == "uvloop"


def test_asyncio_runs_on_asyncios_own_loop() -> None:
    assert loop_factory("asyncio") is None
    assert run(running_loop_name(), event_loop="asyncio") == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # As on Windows or PyPy, where it is not installed.
    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert loop_factory("auto") is None
    assert run(running_loop_name()) == "asyncio"
    with pytest.raises(EventLoopUnavailable, match="not installed"):
        loop_factory("uvloop")
    with pytest.raises(ConfigError, match="EVENT_LOOP=uvloop"):
        parse_settings({"EVENT_LOOP": "uvloop"})


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
def test_main_runs_every_command_on_the_loop_the_setting_names(
        choice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def dispatch(args: object, settings: object) -> int:
        seen.append(await running_loop_name())
        return 0

    monkeypatch.setattr(bot.cli, "dispatch", dispatch)
    env = tmp_path / ".env"
    env.write_text(f"EVENT_LOOP={choice}\n")
    assert main(["--env-file", str(env), "db", "stats"]) == 0
    expected = "asyncio" if choice == "asyncio" or loop_factory("auto") is None else "uvloop"
    assert seen == [expected]


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
def test_signal_handlers_are_skipped_off_the_main_thread(choice: str) -> None:
    # `run` called from another thread (an embedding, a harness): neither loop may install
    # signal handlers there; asyncio's says so with RuntimeError, uvloop's with ValueError.
    async def serve() -> str:
        client = discord.Client(intents=discord.Intents.none())
        async with _stop_on_signals(client):
            await asyncio.sleep(0)
        return await running_loop_name()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        name = pool.submit(run, serve(), event_loop=choice).result()
    assert name == ("asyncio" if choice == "asyncio" or loop_factory("auto") is None
                    else "uvloop")


def test_the_setting_is_parsed_and_shown() -> None:
    assert parse_settings({}).event_loop == "auto"
    settings = parse_settings({"EVENT_LOOP": " AsyncIO "})
    assert settings.event_loop == "asyncio"
    assert "event_loop=asyncio" in repr(settings)
    with pytest.raises(ConfigError, match="EVENT_LOOP must be auto, uvloop or asyncio"):
        parse_settings({"EVENT_LOOP": "trio"})


def test_cli_bad_event_loop_is_one_line_and_exit_2(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / ".env"
    env.write_text("EVENT_LOOP=trio\n")
    assert main(["--env-file", str(env), "db", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "EVENT_LOOP must be auto, uvloop or asyncio" in err


def test_discord_reads_json_with_the_json_module() -> None:
    # Not orjson, which discord.py takes up by itself when installed: orjson refuses a lone
    # surrogate escape, and a gateway event it cannot read stops the connection
    # (tests/test_hostile_inputs.py sends one). The project does not depend on it.
    assert not discord.utils.HAS_ORJSON
    assert json_problem() is None


def test_orjson_in_the_environment_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.utils, "HAS_ORJSON", True)
    problem = json_problem()
    assert problem is not None and "pip uninstall orjson" in problem
