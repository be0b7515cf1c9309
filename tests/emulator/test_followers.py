"""Channel following as the emulator does it: the followers route and its checks, the follower
webhook (list, get, delete), and a published message copied into every following channel as a
webhook message flagged IS_CROSSPOST. Checked on the wire, and through an unmodified discord.py
client (`TextChannel.follow`, `webhooks()`, `Webhook.delete()`)."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from emulator import Emulator, Perm, default_config
from emulator.config import fixed_id
from emulator.routes_webhooks import MAX_CHANNEL_WEBHOOKS, MESSAGE_FLAG_IS_CROSSPOST
from emulator.testing import emulated


@pytest.fixture
async def emu():
    async with Emulator(default_config(guilds=2)) as emu:
        yield emu


@pytest.fixture
async def http(emu):
    headers = {"Authorization": f"Bot {emu.config.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


def channel(emu: Emulator, name: str, guild: int = 0) -> int:
    return emu.guild(guild).channel(name).id


async def call(http, emu, method: str, path: str, body=None):
    async with http.request(method, emu.api_base + path, json=body) as resp:
        data = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, data


async def test_following_needs_an_announcement_source_and_manage_webhooks_in_the_target(
        emu, http) -> None:
    hub, target = channel(emu, "announcements"), channel(emu, "general", 1)
    follow = f"/channels/{hub}/followers"

    # The bot's default role has no Manage Webhooks.
    status, body = await call(http, emu, "POST", follow, {"webhook_channel_id": str(target)})
    assert (status, body["code"]) == (403, 50013)
    await emu.set_bot_permissions(target, allow=Perm.MANAGE_WEBHOOKS)

    status, body = await call(http, emu, "POST", f"/channels/{channel(emu, 'general')}"
                              "/followers", {"webhook_channel_id": str(target)})
    assert (status, body["code"]) == (400, 50024)  # only announcement channels are followed
    status, body = await call(http, emu, "POST", f"/channels/{fixed_id(999_999)}/followers",
                              {"webhook_channel_id": str(target)})
    assert (status, body["code"]) == (404, 10003)
    status, body = await call(http, emu, "POST", follow,
                              {"webhook_channel_id": str(fixed_id(999_998))})
    assert (status, body["code"]) == (404, 10003)
    status, body = await call(http, emu, "POST", follow, {})
    assert (status, body["code"]) == (400, 50035)

    status, body = await call(http, emu, "POST", follow, {"webhook_channel_id": str(target)})
    assert status == 200 and body["channel_id"] == str(hub)
    hook_id = int(body["webhook_id"])

    status, listed = await call(http, emu, "GET", f"/channels/{target}/webhooks")
    assert status == 200 and [h["id"] for h in listed] == [str(hook_id)]
    [hook] = listed
    assert hook["type"] == 2 and hook["channel_id"] == str(target)
    assert hook["name"] == f"{emu.guild(0).name} #announcements"
    assert hook["source_channel"] == {"id": str(hub), "name": "announcements"}
    assert hook["source_guild"]["id"] == str(emu.guild(0).id)
    assert hook["user"]["id"] == str(emu.config.bot.id)

    # Listing needs Manage Webhooks too.
    status, body = await call(http, emu, "GET", f"/channels/{channel(emu, 'general')}/webhooks")
    assert (status, body["code"]) == (403, 50013)

    status, _ = await call(http, emu, "DELETE", f"/webhooks/{hook_id}")
    assert status == 204
    status, body = await call(http, emu, "DELETE", f"/webhooks/{hook_id}")
    assert (status, body["code"]) == (404, 10015)
    status, body = await call(http, emu, "GET", f"/webhooks/{hook_id}")
    assert (status, body["code"]) == (404, 10015)


async def test_a_full_channel_refuses_another_webhook(emu, http) -> None:
    hub, target = channel(emu, "announcements"), channel(emu, "general", 1)
    await emu.set_bot_permissions(target, allow=Perm.MANAGE_WEBHOOKS)
    for _ in range(MAX_CHANNEL_WEBHOOKS):
        await emu.webhooks.follow(hub, target)
    status, body = await call(http, emu, "POST", f"/channels/{hub}/followers",
                              {"webhook_channel_id": str(target)})
    assert (status, body["code"]) == (400, 30007)
    assert "Maximum number of webhooks" in body["message"]


async def test_a_published_message_reaches_every_follower_once_as_a_webhook_copy(
        emu, http) -> None:
    hub = channel(emu, "announcements")
    followers = [channel(emu, "general", 1), channel(emu, "announcements", 1)]
    hooks = [await emu.webhooks.follow(hub, f) for f in followers]
    status, original = await call(http, emu, "POST", f"/channels/{hub}/messages", {
        "content": "<@&123> hello", "embeds": [{"title": "News"}],
        "allowed_mentions": {"parse": ["roles"]}})
    assert status == 200
    await emu.webhooks.settled()
    assert all(emu.channel_messages(f) == [] for f in followers)  # not published yet

    status, _ = await call(http, emu, "POST",
                           f"/channels/{hub}/messages/{original['id']}/crosspost")
    assert status == 200
    await emu.webhooks.settled()
    for follower, hook in zip(followers, hooks, strict=True):
        [copy] = emu.channel_messages(follower)
        assert copy.raw["webhook_id"] == str(hook.id) and copy.author_id == hook.id
        assert copy.raw["author"]["username"] == f"{emu.guild(0).name} #announcements"
        assert copy.flags & MESSAGE_FLAG_IS_CROSSPOST
        assert copy.raw["message_reference"] == {"channel_id": str(hub),
                                                 "message_id": original["id"],
                                                 "guild_id": str(emu.guild(0).id)}
        assert copy.embed is not None and copy.embed["title"] == "News"
        assert copy.content == "<@&123> hello" and copy.pinged_role_ids == []
    assert emu.stats.follower_copies == 2

    # Publishing again is refused (40033) and copies nothing more.
    status, body = await call(http, emu, "POST",
                              f"/channels/{hub}/messages/{original['id']}/crosspost")
    assert (status, body["code"]) == (400, 40033)
    await emu.delete_channel(followers[0])  # a deleted channel's webhooks go with it
    await emu.webhooks.delete_by_hand(hooks[1].id)
    status, second = await call(http, emu, "POST", f"/channels/{hub}/messages",
                                {"content": "second"})
    await call(http, emu, "POST", f"/channels/{hub}/messages/{second['id']}/crosspost")
    await emu.webhooks.settled()
    assert emu.stats.follower_copies == 2


async def test_discord_py_follows_lists_and_deletes() -> None:
    config = default_config(guilds=2)
    config.guilds[1].bot_permissions |= Perm.MANAGE_WEBHOOKS
    client = discord.Client(intents=discord.Intents(guilds=True))
    async with emulated(client, config) as (emu, bot):
        hub = bot.get_channel(config.guilds[0].channel("announcements").id)
        target = bot.get_channel(config.guilds[1].channel("general").id)
        assert isinstance(hub, discord.TextChannel) and isinstance(target, discord.TextChannel)
        hook = await hub.follow(destination=target)
        [listed] = await target.webhooks()
        assert listed.id == hook.id and listed.type is discord.WebhookType.channel_follower
        assert listed.source_channel is not None and listed.source_channel.id == hub.id
        assert listed.user is not None and listed.user.id == emu.config.bot.id
        fetched = await bot.fetch_webhook(hook.id)
        await fetched.delete()
        assert await target.webhooks() == []
        with pytest.raises(discord.NotFound) as gone:
            await bot.fetch_webhook(hook.id)
        assert gone.value.code == 10015
