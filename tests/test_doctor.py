"""`heartstopper-bot doctor` against the local Discord emulator: a healthy setup passes every
check (exit 0); a bad token, a missing permission in a subscribed channel, commands not synced
and a damaged database each fail their line with a fix (exit 1); a bad setting is a failed
check too, and a mistyped command line is a usage error (exit 2)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import cmd_sync
from bot.core.config import Settings
from bot.doctor import FAIL, PASS, SKIP, Check, channel_permissions, compare_commands, run_checks
from bot.playground.harness import emulator_settings
from bot.store import Store
from emulator import Emulator, default_config
from emulator.permissions import Perm
from emulator.testing import running_emulator
from tests.cli_helpers import cli, corrupt_table_page
from tests.test_cli_network import PROJECT_ROOT, bot_argv, child_env

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def _subscribed_database(path: Path, emu: Emulator) -> dict[str, int]:
    guild = emu.config.guilds[0]
    channels = {c.name: c.id for c in guild.channels}
    async with await Store.open(path) as store:
        for channel_id in channels.values():
            await store.news.subscribe(guild.id, channel_id, role_id=None, publish=False,
                                       subscribed_by=emu.config.owner.id, now=NOW)
    return channels


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def test_a_healthy_setup_passes_and_broken_ones_say_what_to_fix(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async with running_emulator(default_config()) as emu:
        s = emulator_settings(settings, emu)
        channels = await _subscribed_database(s.database_path, emu)
        await cmd_sync(s)  # global commands, as `heartstopper-bot sync` does
        checks = await run_checks(s)
        assert [c.status for c in checks] == [PASS] * 6, checks
        found = _by_name(checks)
        assert "logged in as EmulatedBot" in found["Token"].detail
        assert found["Intents"].detail == ("the bot asks only for Guilds, which is not "
                                           "privileged")
        assert "synced globally, as the bot defines them" in found["Commands"].detail
        assert f"{len(channels)} checked; the bot can post in every one" in \
            found["News subscriptions"].detail
        assert "no damage" in found["Database"].detail

        # A privileged intent switched on that the bot does not use: still a pass, noted.
        emu.config.application_flags = 1 << 18  # GATEWAY_MESSAGE_CONTENT
        intents = _by_name(await run_checks(s))["Intents"]
        assert intents.status == PASS and "Message Content Intent on" in intents.detail
        emu.config.application_flags = 0

        # A permission taken away in a subscribed channel.
        general = channels["general"]
        await emu.set_bot_permissions(general, deny=Perm.SEND_MESSAGES | Perm.EMBED_LINKS)
        checks = await run_checks(s)
        failed = [c for c in checks if c.status == FAIL]
        assert [c.name for c in failed] == ["News subscriptions", "News in #general (" +
                                            emu.config.guilds[0].name + ")"]
        assert failed[0].detail == f"1 of {len(channels)} need attention"
        assert failed[1].detail == "the bot is missing Send Messages, Embed Links"
        assert "Edit Channel > Permissions" in failed[1].fix
        # Hidden from the bot altogether: Discord answers 403, and everything is missing.
        await emu.set_bot_permissions(general, deny=Perm.VIEW_CHANNEL)
        hidden = [c for c in await run_checks(s) if c.status == FAIL][1]
        assert hidden.detail.startswith("the bot is missing View Channel, Send Messages")
        await emu.set_bot_permissions(general)

        # Commands not synced where DEV_GUILD_ID says.
        dev = dataclasses.replace(s, dev_guild_id=emu.config.guilds[0].id)
        commands = _by_name(await run_checks(dev))["Commands"]
        assert commands.status == FAIL
        assert commands.detail.startswith(f"not synced in server {dev.dev_guild_id} "
                                          "(DEV_GUILD_ID): /about is missing")
        assert "restart the bot" in commands.fix

        # A bad token: the Discord checks after it are skipped.
        bad = dataclasses.replace(s, token="not-the-token")
        checks = await run_checks(bad)
        assert [(c.name, c.status) for c in checks] == [
            ("Settings", PASS), ("Database", PASS), ("Token", FAIL), ("Intents", SKIP),
            ("Commands", SKIP), ("News subscriptions", SKIP)]
        assert "Reset Token" in checks[2].fix

        # A damaged database.
        corrupt_table_page(s.database_path, "news_subscriptions")
        database = _by_name(await run_checks(s))["Database"]
        assert database.status == FAIL and "is damaged" in database.detail
        assert "restore the latest good backup" in database.fix


def test_no_token_and_a_missing_database(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "missing.db", "doctor", BACKUP_DIR=str(tmp_path / "b")) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✗ Settings: DISCORD_TOKEN is not set")
    assert out[1].startswith("    fix: put the bot token in .env")
    assert out[2].startswith(f"✗ Database: {tmp_path / 'missing.db'} does not exist")
    assert "db init" in out[3]
    assert out[4] == "- Token: not checked (no DISCORD_TOKEN)"
    assert out[-1] == "2 problem(s) to fix."


def test_a_bad_setting_is_a_failed_check_and_bad_arguments_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "x.db", "doctor", BACKUP_KEEP="lots") == 1
    out = capsys.readouterr().out
    assert out.startswith("✗ Settings: BACKUP_KEEP must be a whole number of backups")
    with pytest.raises(SystemExit) as exit_:
        cli(tmp_path / "x.db", "doctor", "--nonsense")
    assert exit_.value.code == 2


def test_permissions_follow_discords_rules() -> None:
    guild = {"id": "1", "owner_id": "9"}
    roles = [{"id": "1", "permissions": str(Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)},
             {"id": "2", "permissions": str(Perm.EMBED_LINKS)},
             {"id": "3", "permissions": str(Perm.ADMINISTRATOR)}]
    member = {"roles": ["2"]}
    channel = {"permission_overwrites": [
        {"id": "1", "type": 0, "allow": "0", "deny": str(Perm.SEND_MESSAGES)},
        {"id": "2", "type": 0, "allow": str(Perm.SEND_MESSAGES), "deny": "0"}]}
    perms = channel_permissions(guild, roles, member, channel, 5)
    assert perms.view_channel and perms.send_messages and perms.embed_links
    member_deny = {"permission_overwrites": [
        *channel["permission_overwrites"],
        {"id": "5", "type": 1, "allow": "0", "deny": str(Perm.VIEW_CHANNEL)}]}
    assert channel_permissions(guild, roles, member, member_deny, 5).value == 0
    assert channel_permissions(guild, roles, {"roles": ["3"]}, member_deny, 5).administrator
    assert channel_permissions(guild, roles, member, member_deny, 9).administrator  # the owner


def test_command_comparison_ignores_what_discord_adds() -> None:
    mine = {"name": "quote", "description": "Quotes", "type": 1, "options": [
        {"name": "text", "description": "What", "type": 3, "required": True}]}
    theirs = {**mine, "id": "5", "version": "7", "application_id": "1",
              "default_member_permissions": None, "dm_permission": True, "nsfw": False}
    assert compare_commands([mine], [theirs]) == []
    changed = {**theirs, "options": [{**mine["options"][0], "required": False}]}
    assert compare_commands([mine], [changed, {"name": "old", "description": "x"}]) == [
        "/quote is out of date", "/old is not one of this bot's"]


async def test_the_cli_exit_codes(tmp_path: Path) -> None:
    """The real command, as an operator runs it: 0 when healthy, 1 with ✗ lines when not."""
    db = tmp_path / "bot.db"
    async with running_emulator(default_config()) as emu:
        await _subscribed_database(db, emu)
        env = child_env(db, emu.api_base, emu.config.token)

        async def run(*args: str, **extra: str) -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(
                *bot_argv(*args), cwd=PROJECT_ROOT, env={**env, **extra},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 90)
            assert "Traceback" not in out.decode(), out.decode()
            assert emu.config.token not in out.decode() + err.decode()
            assert proc.returncode is not None
            return proc.returncode, out.decode()

        assert (await run("sync"))[0] == 0
        code, out = await run("doctor")
        assert code == 0, out
        assert out.count("✓ ") == 6 and out.rstrip().endswith("Everything checks out.")
        await emu.set_bot_permissions(emu.config.guilds[0].channel("general").id,
                                      deny=Perm.EMBED_LINKS)
        code, out = await run("doctor", DEV_GUILD_ID=str(emu.config.guilds[0].id))
        assert code == 1
        assert "✗ Commands: not synced in server" in out
        assert "✗ News in #general" in out and "missing Embed Links" in out
        assert out.rstrip().endswith("3 problem(s) to fix.")
        code, out = await run("doctor", DISCORD_TOKEN="wrong-token")
        assert code == 1 and "✗ Token: Discord refused DISCORD_TOKEN" in out
