"""The whole bot through the emulator: every command syncs and Discord accepts every definition."""

from tests.conftest import Harness


async def test_every_command_syncs_and_is_accepted(harness: Harness) -> None:
    synced = harness.emu.synced_commands()
    local = {c.name for c in harness.bot.tree.get_commands()}
    assert {c["name"] for c in synced} == local
    assert harness.emu.unknown_requests == []


async def test_about_replies_ephemerally_with_counts(harness: Harness) -> None:
    result = await harness.emu.invoke("about", guild_id=harness.guild_id)
    assert result.ephemeral
    fields = {f["name"]: f["value"] for f in result.embed["fields"]}
    assert int(fields["Characters"]) >= 20
    assert result.errors == []


async def test_survives_a_dropped_gateway_and_a_429(harness: Harness) -> None:
    await harness.emu.drop_gateway()
    await harness.emu.wait_gateway_connected()
    channel = harness.bot.get_channel(harness.channel_id())
    harness.emu.faults.rate_limited("POST", "/channels/{channel_id}/messages", retry_after=0.2,
                                    times=1)
    message = await channel.send("hello after a 429")
    assert message.id
    assert [m.content for m in harness.emu.channel_messages(channel.id)] == ["hello after a 429"]
    result = await harness.emu.invoke("about", guild_id=harness.guild_id)
    assert result.embed["title"] == "Heartstopper bot"
