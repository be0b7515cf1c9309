"""End-to-end tests of the Discord emulator with a real, unmodified discord.py client.

The sample bot below is generic on purpose: it exercises the Discord features a real bot uses
(autocomplete, subcommand groups, embeds with buttons, deferral, nonces, publishing) so the
emulator's behaviour is pinned down independently of any particular bot.
"""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from emulator import (
    ChannelSpec,
    EmulatorConfig,
    InvocationError,
    NoAnswer,
    Perm,
    default_config,
)
from emulator.spec import resolve_spec_path
from emulator.testing import connected_client, emulated, running_emulator

NAMES = ["Kit", "Kira", "Nina", "Omar", "Tao"]


class Pager(discord.ui.View):
    def __init__(self, page: int = 0) -> None:
        super().__init__(timeout=60)
        self.page = page

    @discord.ui.button(label="Prev", custom_id="pager:prev")
    async def prev(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.page -= 1
        await interaction.response.edit_message(content=f"page {self.page}", view=self)

    @discord.ui.button(label="Next", custom_id="pager:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.page += 1
        await interaction.response.edit_message(content=f"page {self.page}", view=self)


class Picker(discord.ui.View):
    @discord.ui.select(
        custom_id="picker", options=[discord.SelectOption(label=n, value=n.lower()) for n in NAMES]
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


class Feedback(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="Text", custom_id="feedback:text", max_length=50)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}")


class SampleBot(commands.Bot):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("intents", discord.Intents.default())
        super().__init__(
            command_prefix="!", guild_ready_timeout=0.05, max_ratelimit_timeout=30, **kwargs
        )
        self.resumed = asyncio.Event()
        self.seen: list[discord.Message] = []

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def setup_hook(self) -> None:
        tree = self.tree

        @tree.command(description="Look somebody up")
        async def lookup(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"found {name}")

        @lookup.autocomplete("name")
        async def lookup_names(interaction: discord.Interaction, current: str):
            return [
                app_commands.Choice(name=n, value=n)
                for n in NAMES
                if n.lower().startswith(current.lower())
            ]

        quote = app_commands.Group(name="quote", description="Quotes")
        admin = app_commands.Group(name="admin", description="Manage quotes", parent=quote)

        @quote.command(name="random", description="A random quote")
        async def quote_random(interaction: discord.Interaction, count: int = 1) -> None:
            await interaction.response.send_message(f"{count} quote(s)", ephemeral=True)

        @admin.command(name="add", description="Add a quote")
        async def quote_add(interaction: discord.Interaction, text: str) -> None:
            allowed = interaction.permissions.manage_guild
            await interaction.response.send_message(f"added {text} ({allowed})")

        tree.add_command(quote)

        @tree.command(description="Moderators only")
        @app_commands.default_permissions(manage_messages=True)
        async def purge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("purged", ephemeral=True)

        @tree.command(description="An embed with buttons")
        async def card(interaction: discord.Interaction) -> None:
            embed = discord.Embed(title="Card", description="page 0")
            await interaction.response.send_message(embed=embed, view=Pager())

        @tree.command(description="Thinks, then answers")
        async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            await asyncio.sleep(0.01)
            await interaction.followup.send("done thinking")
            await interaction.followup.send("and one more")

        @tree.command(description="Offers too many suggestions")
        async def many(interaction: discord.Interaction, item: str) -> None:
            await interaction.response.send_message(item)

        @many.autocomplete("item")
        async def many_items(interaction: discord.Interaction, current: str):
            return [app_commands.Choice(name=f"item {i}", value=str(i)) for i in range(30)]

        @tree.command(description="Reports progress by editing its reply")
        async def progress(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content="50%")
            await interaction.edit_original_response(content="100%")

        @tree.command(description="Posts to a channel with a nonce")
        async def post(
            interaction: discord.Interaction, channel: discord.TextChannel, text: str, nonce: str
        ) -> None:
            target = self.get_channel(channel.id)
            msg = await target.send(text, nonce=nonce)
            await interaction.response.send_message(f"posted {msg.id}", ephemeral=True)

        @tree.command(description="Answers late")
        async def sleepy(interaction: discord.Interaction, seconds: float) -> None:
            await asyncio.sleep(seconds)
            await interaction.response.send_message("late")

        @tree.command(description="Sends an oversized embed")
        async def huge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(embed=discord.Embed(description="x" * 5000))

        @tree.command(description="Where am I")
        async def where(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
            await interaction.response.send_message(
                f"{channel.name} view={channel.permissions_for(interaction.user).view_channel}"
            )

        @tree.command(description="Pick one")
        async def pick(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pick", view=Picker())

        @tree.command(description="Give feedback")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        await tree.sync()


@pytest.fixture
async def env():
    async with emulated(SampleBot()) as (emu, bot):
        yield emu, bot


def general(emu):
    return emu.guild(0).channel("general")


def announcements(emu):
    return emu.guild(0).channel("announcements")


# -- login, ready, sync -----------------------------------------------------------------------


async def test_login_ready_and_guilds_visible(env):
    emu, bot = env
    assert bot.is_ready()
    assert bot.user.id == emu.config.bot.id
    guild = bot.get_guild(emu.guild(0).id)
    # Without the members intent discord.py caches only itself, but the count is complete.
    assert guild is not None and guild.member_count == 4
    assert guild.me is not None
    assert {c.name for c in guild.channels} == {"general", "announcements"}
    assert guild.get_channel(announcements(emu).id).is_news()
    assert guild.default_role.id == guild.id
    assert emu.unknown_requests == []


async def test_start_ready_stop_is_fast():
    started = time.perf_counter()
    async with emulated(SampleBot()) as (emu, _bot):
        await emu.invoke("lookup", {"name": "Kit"})
    assert time.perf_counter() - started < 1.0


async def test_command_sync_recorded(env):
    emu, bot = env
    synced = {c["name"]: c for c in emu.synced_commands()}
    assert {"lookup", "quote", "card", "slow", "post"} <= set(synced)
    assert synced["lookup"]["application_id"] == str(emu.config.application_id)
    assert synced["lookup"]["options"][0]["autocomplete"] is True
    gid = emu.guild(0).id
    bot.tree.copy_global_to(guild=discord.Object(gid))
    await bot.tree.sync(guild=discord.Object(gid))
    assert all(c["guild_id"] == str(gid) for c in emu.synced_commands(gid))


async def test_invalid_command_definition_rejected(env):
    emu, bot = env
    bad = [
        {"name": "ok", "description": "d" * 101, "type": 1},
        {"name": "Bad Name", "description": "x", "type": 1},
    ]
    with pytest.raises(discord.HTTPException) as info:
        await bot.http.bulk_upsert_global_commands(bot.application_id, bad)
    assert info.value.status == 400 and info.value.code == 50035
    assert "description" in info.value.text and "name" in info.value.text
    assert "ok" not in {c["name"] for c in emu.synced_commands()}


# -- interactions -----------------------------------------------------------------------------


async def test_invoke_and_autocomplete(env):
    emu, _ = env
    result = await emu.invoke("lookup", {"name": "Nina"})
    assert result.type == 4 and result.content == "found Nina" and not result.ephemeral
    assert [m.content for m in emu.channel_messages(general(emu).id)] == ["found Nina"]
    choices = await emu.autocomplete("lookup", {"name": "ki"}, focused="name")
    assert [c["name"] for c in choices] == ["Kit", "Kira"]
    # More than 25 suggestions is a 50035 for the bot and nothing for the user.
    with pytest.raises(NoAnswer):
        await emu.autocomplete("many", focused="item")
    assert emu.interactions[-1].errors[0]["code"] == 50035
    # Users may still submit a value that was never offered.
    assert (await emu.invoke("many", {"item": "anything"})).content == "anything"


async def test_subcommands_and_permissions(env):
    emu, _ = env
    random = await emu.invoke("quote random", {"count": 3})
    assert random.content == "3 quote(s)" and random.ephemeral
    assert emu.channel_messages(general(emu).id) == []  # ephemeral replies are not in the channel
    # The member's permissions in the channel reach the bot (moderator role: manage server).
    assert (await emu.invoke("quote admin add", {"text": "a"}, user="moderator")).content == (
        "added a (True)"
    )
    assert (await emu.invoke("quote admin add", {"text": "b"})).content == "added b (False)"
    forced = await emu.invoke("quote admin add", {"text": "c"}, permissions=Perm.MANAGE_GUILD)
    assert forced.content == "added c (True)"
    # default_member_permissions hides a command from members who lack them, as Discord does.
    assert (await emu.invoke("purge", user="moderator")).content == "purged"
    with pytest.raises(InvocationError, match="cannot see /purge"):
        await emu.invoke("purge")  # the default invoker is a plain member


async def test_driving_mistakes_fail_loudly(env):
    emu, _ = env
    with pytest.raises(InvocationError, match="unknown command"):
        await emu.invoke("nope")
    with pytest.raises(InvocationError, match="no option 'nam'"):
        await emu.invoke("lookup", {"nam": "Kit"})
    with pytest.raises(InvocationError, match="missing required"):
        await emu.invoke("lookup", {})
    with pytest.raises(InvocationError, match="expected an integer"):
        await emu.invoke("quote random", {"count": "three"})
    with pytest.raises(InvocationError, match="needs a subcommand"):
        await emu.invoke("quote")


async def test_embed_button_press_and_select(env):
    emu, _ = env
    card = await emu.invoke("card")
    assert card.embed["title"] == "Card" and card.buttons == ["Prev", "Next"]
    pressed = await emu.press(card, label="Next")
    assert pressed.type == 7 and pressed.content == "page 1"
    again = await emu.press(card, custom_id="pager:next")
    assert again.content == "page 2" and card.content == "page 2"  # results are live views
    with pytest.raises(InvocationError, match="no button"):
        await emu.press(card, label="Missing")
    pick = await emu.invoke("pick")
    picked = await emu.select(pick, "picker", ["kira"])
    assert picked.content == "picked kira" and picked.ephemeral
    with pytest.raises(InvocationError, match="no option"):
        await emu.select(pick, "picker", ["nobody"])


async def test_modal_submit(env):
    emu, _ = env
    opened = await emu.invoke("feedback")
    assert opened.type == 9 and opened.modal["title"] == "Feedback"
    submitted = await emu.submit_modal(opened, {"feedback:text": "lovely"})
    assert submitted.content == "thanks: lovely"


async def test_defer_then_followups(env):
    emu, _ = env
    result = await emu.invoke("slow")
    assert result.deferred and result.type == 5
    assert result.content == "done thinking" and not result.message.loading
    assert [m.content for m in result.followups] == ["and one more"]
    hidden = await emu.invoke("slow", {"ephemeral": True})
    assert hidden.ephemeral and hidden.content == "done thinking"


async def test_channel_option_resolved_with_permissions(env):
    emu, _ = env
    result = await emu.invoke("where", {"channel": "announcements"})
    assert result.content == "announcements view=True"
    data = emu.interactions[-1].payload["data"]
    resolved = data["resolved"]["channels"][str(announcements(emu).id)]
    assert int(resolved["permissions"]) & Perm.VIEW_CHANNEL


async def test_deadline_gives_10062(env):
    emu, _ = env
    emu.interaction_deadline = 0.1
    result = await emu.invoke("sleepy", {"seconds": 0.25}, timeout=1.0)
    assert not result.answered and result.error_codes == [10062]
    assert emu.stats.late_callbacks == 1


async def test_second_callback_gives_40060(env):
    emu, _ = env
    result = await emu.invoke("lookup", {"name": "Kit"})
    url = f"{emu.api_base}/interactions/{result.interaction_id}/{result.token}/callback"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"type": 4, "data": {"content": "again"}}) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["code"] == 40060
    assert result.error_codes == [40060]


async def test_oversized_embed_rejected(env):
    emu, bot = env
    result = await emu.invoke("huge")
    assert not result.answered and result.error_codes == [50035]
    assert "description" in result.errors[0]["errors"]["data"]["embeds"]["0"]
    channel = bot.get_channel(general(emu).id)
    fields = discord.Embed(title="t")
    for i in range(26):
        fields.add_field(name=f"f{i}", value="v")
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=fields)
    assert info.value.code == 50035
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embeds=[discord.Embed(description="y" * 4000)] * 2)
    assert info.value.code == 50035 and "6000" in info.value.text


# -- REST rules -------------------------------------------------------------------------------


async def test_global_rate_limit_retried_by_discord_py():
    cfg = default_config(global_rate_limit=5, global_rate_window=0.2)
    async with emulated(SampleBot(), cfg) as (emu, bot):
        channel = bot.get_channel(general(emu).id)
        for i in range(12):
            await channel.send(f"m{i}")
        assert [m.content for m in emu.channel_messages(channel.id)] == [f"m{i}" for i in range(12)]
        assert emu.stats.rate_limited >= 1
        assert any(r.status == 429 for r in emu.requests)
        # The exact shape discord.py depends on.
        headers = {"Authorization": f"Bot {emu.config.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            for _ in range(6):
                async with http.get(f"{emu.api_base}/users/@me") as resp:
                    if resp.status == 429:
                        body = await resp.json()
                        assert resp.headers["Via"] and resp.headers["X-RateLimit-Scope"] == "global"
                        assert resp.headers["Content-Type"] == "application/json"
                        assert body["global"] is True and body["code"] == 0
                        assert 0 < body["retry_after"] <= 0.2 and body["message"]
                        break
            else:
                pytest.fail("no 429 after exceeding the global limit")
        # Interaction callbacks are exempt from the global limit.
        for _ in range(6):
            assert (await emu.invoke("lookup", {"name": "Kit"}, settle=0)).answered


async def test_nonce_deduplication(env):
    emu, bot = env
    channel = bot.get_channel(general(emu).id)
    first = await channel.send("once", nonce="delivery-1")
    second = await channel.send("once", nonce="delivery-1")
    assert first.id == second.id and emu.stats.nonce_duplicates == 1
    assert len(emu.channel_messages(channel.id)) == 1
    emu.clock.advance(emu.config.nonce_window + 1)
    third = await channel.send("once", nonce="delivery-1")
    assert third.id != first.id
    # Through a command: the bot posts with a nonce from inside an interaction.
    result = await emu.invoke("post", {"channel": "general", "text": "hello", "nonce": "n-2"})
    assert result.content.startswith("posted ")
    assert emu.channel_messages(channel.id)[-1].nonce == "n-2"


async def test_crosspost_budget_and_40033(env):
    emu, bot = env
    channel = bot.get_channel(announcements(emu).id)
    messages = [await channel.send(f"news {i}") for i in range(11)]
    for msg in messages[:10]:
        await msg.publish()
    with pytest.raises(discord.HTTPException) as info:
        await messages[0].publish()
    assert info.value.code == 40033
    with pytest.raises(discord.RateLimited) as limited:
        await messages[10].publish()
    assert limited.value.retry_after > 3000
    assert emu.stats.publishes == 10 and emu.stats.publish_rate_limited == 1
    emu.clock.advance(3600)
    await messages[10].publish()
    assert emu.channel_messages(channel.id)[-1].crossposted
    text_channel = bot.get_channel(general(emu).id)
    plain = await text_channel.send("not news")
    with pytest.raises(discord.HTTPException):
        await plain.publish()


async def test_injected_faults(env):
    emu, bot = env
    channel = bot.get_channel(general(emu).id)
    fault = emu.faults.add(
        "POST",
        "/channels/{channel_id}/messages",
        channel_id=channel.id,
        status=403,
        code=50013,
        times=None,
    )
    for _ in range(2):
        with pytest.raises(discord.Forbidden) as info:
            await channel.send("x")
        assert info.value.code == 50013
    assert fault.hits == 2
    emu.faults.clear()
    emu.faults.unknown_channel(channel.id, times=1)
    with pytest.raises(discord.NotFound) as info:
        await channel.send("x")
    assert info.value.code == 10003
    await channel.send("works again")
    # 5xx answers (discord.py would retry after 1 s; checked on the wire to stay fast).
    emu.faults.server_error("GET", "/users/@me", status=502, times=1)
    headers = {"Authorization": f"Bot {emu.config.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{emu.api_base}/users/@me") as resp:
            assert resp.status == 502
        async with http.get(f"{emu.api_base}/users/@me") as resp:
            assert resp.status == 200
    emu.faults.rate_limited("POST", "/channels/{channel_id}/messages", retry_after=600, times=1)
    with pytest.raises(discord.RateLimited):
        await channel.send("x")


async def test_bot_permissions_follow_overwrites(env):
    emu, bot = env
    cid = general(emu).id
    await emu.set_bot_permissions(cid, deny=Perm.SEND_MESSAGES)
    await asyncio.sleep(0.02)  # let CHANNEL_UPDATE reach the bot
    channel = bot.get_channel(cid)
    assert not channel.permissions_for(channel.guild.me).send_messages
    with pytest.raises(discord.Forbidden) as info:
        await channel.send("x")
    assert info.value.code == 50013
    await emu.set_bot_permissions(cid, deny=Perm.VIEW_CHANNEL)
    await asyncio.sleep(0.02)
    assert not channel.permissions_for(channel.guild.me).view_channel
    with pytest.raises(discord.Forbidden) as info:
        await channel.send("x")
    assert info.value.code == 50001
    await emu.set_bot_permissions(cid)
    await channel.send("allowed again")


async def test_dms_and_dispatched_events(env):
    emu, bot = env
    member = emu.guild(0).member("member").user
    user = await bot.fetch_user(member.id)
    await user.send("hello there")
    assert [m.content for m in emu.dms(member.id)] == ["hello there"]
    cid = announcements(emu).id
    await emu.delete_channel(cid)
    await asyncio.sleep(0.02)
    assert bot.get_channel(cid) is None
    gid = emu.guild(0).id
    await emu.remove_guild(gid)
    await asyncio.sleep(0.02)
    assert bot.get_guild(gid) is None


async def test_spec_validation_catches_bad_body(env):
    emu, bot = env
    if resolve_spec_path("auto") is None:
        pytest.skip("Discord OpenAPI spec not found at ../shared/discord-api-spec/openapi.json")
    assert emu.spec is not None
    channel = bot.get_channel(general(emu).id)
    # Discord caps string nonces at 25 characters; only the spec knows that.
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x", nonce="n" * 30)
    assert info.value.code == 50035 and "nonce" in info.value.text
    assert emu.stats.spec_rejections == 1


# -- gateway ----------------------------------------------------------------------------------


async def test_drop_gateway_resumes(env):
    emu, bot = env
    assert await emu.drop_gateway() == 1
    result = await emu.invoke("lookup", {"name": "Tao"})  # buffered, then replayed on RESUME
    assert result.content == "found Tao"
    await asyncio.wait_for(bot.resumed.wait(), 2)
    assert emu.stats.resumes == 1 and emu.stats.identifies == 1
    await emu.drop_gateway(code=4000)
    await emu.wait_gateway_connected(2)
    assert (await emu.invoke("lookup", {"name": "Omar"})).content == "found Omar"


async def test_bad_token():
    async with running_emulator() as emu:
        client = SampleBot()
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong")
        await client.close()
        # A token revoked after login is refused by the gateway with close code 4004.
        client = SampleBot()
        await client.login(emu.config.token)
        emu.config.token = "rotated"
        with pytest.raises(discord.ConnectionClosed) as info:
            await asyncio.wait_for(client.connect(reconnect=True), 5)
        assert info.value.code == 4004
        await client.close()


async def test_privileged_intents_refused():
    async with running_emulator() as emu:
        client = SampleBot(intents=discord.Intents.all())
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with connected_client(client, emu, ready_timeout=2):
                pass


class ShardedBot(commands.AutoShardedBot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
        )

    async def before_identify_hook(self, shard_id, *, initial=False) -> None:
        pass  # discord.py waits 5 s between shards by default

    async def setup_hook(self) -> None:
        @self.tree.command(description="Which shard")
        async def shard(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"shard {interaction.guild.shard_id}")

        await self.tree.sync()


async def test_autosharded_client():
    cfg = default_config(guilds=2, shard_count=2)
    async with emulated(ShardedBot(), cfg) as (emu, bot):
        assert bot.shard_count == 2 and len(bot.guilds) == 2
        assert {s.shard_count for s in emu.gateway.active_sessions()} == {2}
        assert any(r.path == "/gateway/bot" for r in emu.requests)
        for guild in emu.guilds:
            expected = (guild.id >> 22) % 2
            result = await emu.invoke("shard", guild_id=guild.id)
            assert result.content == f"shard {expected}"
        assert {(g.id >> 22) % 2 for g in emu.guilds} == {0, 1}


async def test_custom_config_layout():
    cfg = default_config()
    guild = cfg.guilds[0]
    guild.channels.append(ChannelSpec(guild.id + 99, "secret", 0, overwrites=[]))
    async with emulated(SampleBot(), cfg) as (emu, _bot):
        await emu.set_overwrite(guild.id + 99, guild.id, deny=Perm.VIEW_CHANNEL)  # @everyone
        with pytest.raises(InvocationError, match="cannot see"):
            await emu.invoke("lookup", {"name": "Kit"}, channel_id=guild.id + 99)
        owner_result = await emu.invoke(
            "lookup", {"name": "Kit"}, channel_id=guild.id + 99, user=cfg.owner
        )
        assert owner_result.content == "found Kit"
    assert isinstance(cfg, EmulatorConfig)


async def test_no_answer_is_reported(env):
    emu, _ = env
    with pytest.raises(NoAnswer):
        await emu.invoke("sleepy", {"seconds": 0.5}, timeout=0.1)


async def test_edit_original_response(env):
    emu, _ = env
    result = await emu.invoke("progress")
    assert result.type == 5 and result.content == "100%" and result.message.edited
    assert not result.followups


async def test_files_history_edit_delete(env):
    emu, bot = env
    channel = bot.get_channel(general(emu).id)
    sent = await channel.send("with file", file=discord.File(io.BytesIO(b"abc"), "a.txt"))
    assert sent.attachments[0].filename == "a.txt" and sent.attachments[0].size == 3
    second = await channel.send("second")
    edited = await second.edit(content="second (edited)")
    assert edited.content == "second (edited)"
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["second (edited)", "with file"]  # newest first, as on Discord
    await sent.delete()
    assert [m.content for m in emu.channel_messages(channel.id)] == ["second (edited)"]


async def test_dm_invocation_and_user_messages(env):
    emu, bot = env
    result = await emu.invoke("lookup", {"name": "Kit"}, dm=True)
    assert result.content == "found Kit"
    assert emu.interactions[-1].payload["context"] == 1
    member = emu.guild(0).member("member").user
    await emu.user_message(general(emu).id, "hello bot", user=member)
    await emu.user_message(general(emu).id, f"<@{bot.user.id}> hi", user=member)
    await asyncio.sleep(0.02)
    got = [(m.author.id, m.content) for m in bot.seen if m.author.id == member.id]
    # Without the message-content intent only messages mentioning the bot keep their text.
    assert got == [(member.id, ""), (member.id, f"<@{bot.user.id}> hi")]
