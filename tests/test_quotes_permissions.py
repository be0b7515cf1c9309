"""Who may review quote submissions, and buttons that name another server's things: the real
bot, driven through the local Discord emulator."""

from __future__ import annotations

from collections.abc import Iterable

from bot.quotes.views import AnotherRequest
from emulator import Perm, RoleSpec
from emulator.interactions import press_crafted
from emulator.results import InteractionResult
from tests.conftest import Harness

NO_PINGS = {"parse": []}
TOO_BIG = 10**20  # an id no SQLite integer can hold


def user_id(harness: Harness, username: str, guild: int = 0) -> int:
    guild_id = harness.emu.config.guilds[guild].id
    return harness.emu.world.guild(guild_id).member(username).user.id


async def submit(harness: Harness, text: str, speaker: str = "A Fan", *, user: str = "member",
                 guild: int = 0) -> InteractionResult:
    return await harness.emu.invoke("quote submit", {"text": text, "speaker": speaker},
                                    user=user, guild_id=harness.emu.config.guilds[guild].id)


async def add_role(harness: Harness, name: str, permissions: int = 0, *,
                   holders: Iterable[str] = ()) -> RoleSpec:
    """A new role in the first server, given to `holders`, as if an admin had made it."""
    emu, guild_id = harness.emu, harness.guild_id
    guild = emu.world.guild(guild_id)
    assert guild is not None
    role = RoleSpec(emu.world.ids.next(), name, permissions, position=1)
    guild.roles.append(role)
    await emu.dispatch("GUILD_ROLE_CREATE",
                       {"guild_id": str(guild_id), "role": emu.world.role_payload(role)},
                       guild_id=guild_id)
    for username in holders:
        guild.member(username).roles.append(role.id)  # interactions carry the member's roles
    return role


async def pending(harness: Harness, guild: int = 0) -> int:
    return await harness.store.quotes.pending_count(harness.emu.config.guilds[guild].id)


# ---- who reviews ----------------------------------------------------------------------------


async def test_manage_messages_in_one_channel_does_not_make_a_reviewer(harness: Harness) -> None:
    emu = harness.emu
    await submit(harness, "Words that wait for a reviewer.", user="owner")
    # Manage Messages in #general only (a channel overwrite), where the member runs commands.
    await emu.set_overwrite(harness.channel_id(), user_id(harness, "member"),
                            allow=Perm.MANAGE_MESSAGES)
    refused = await emu.invoke("quote review")
    assert refused.ephemeral and "Only reviewers can do that" in refused.content
    assert "server" in refused.content  # says the permission must be a server-wide one
    card = await emu.invoke("quote review", user="moderator")
    pressed = await emu.press(card, "Approve", user="member")
    assert pressed.ephemeral and "Only reviewers can do that" in pressed.content
    assert await pending(harness) == 1

    # Manage Messages for the whole server (a role) is enough.
    await add_role(harness, "Helpers", Perm.MANAGE_MESSAGES, holders=["member"])
    card = await emu.invoke("quote review")
    assert card.buttons == ["Approve", "Reject", "Skip"]
    approved = await emu.press(card, "Approve")
    assert approved.content.startswith("Approved submission #")
    assert await pending(harness) == 0


async def test_the_reviewer_role_is_set_shown_and_cleared_explicitly(harness: Harness) -> None:
    emu, quotes = harness.emu, harness.store.quotes
    team = await add_role(harness, "Quote Team", holders=["member"])
    not_admin = await emu.invoke("quote reviewers", {"role": "Quote Team"})
    assert not_admin.ephemeral and "Manage Server" in not_admin.content

    everyone = await emu.invoke("quote reviewers", {"role": "@everyone"}, user="moderator")
    assert everyone.ephemeral and "@everyone" in everyone.content
    assert "approve their own" in everyone.content
    assert await quotes.reviewer_role(harness.guild_id) is None

    done = await emu.invoke("quote reviewers", {"role": "Quote Team"}, user="moderator")
    assert done.ephemeral and f"<@&{team.id}>" in done.content
    assert done.message.allowed_mentions == NO_PINGS
    # Without options it only shows the setting.
    shown = await emu.invoke("quote reviewers", user="moderator")
    assert shown.ephemeral and f"<@&{team.id}>" in shown.content
    assert "clear:True" in shown.content
    assert await quotes.reviewer_role(harness.guild_id) == team.id
    both = await emu.invoke("quote reviewers", {"role": "Quote Team", "clear": True},
                            user="moderator")
    assert both.ephemeral and "not both" in both.content

    await submit(harness, "A quote for the team to check.", user="owner")
    card = await emu.invoke("quote review")  # the member holds the reviewer role
    assert (await emu.press(card, "Approve")).content.startswith("Approved submission #")

    cleared = await emu.invoke("quote reviewers", {"clear": True}, user="moderator")
    assert cleared.ephemeral and "no reviewer role" in cleared.content
    assert await quotes.reviewer_role(harness.guild_id) is None
    shown = await emu.invoke("quote reviewers", user="moderator")
    assert "no reviewer role" in shown.content
    refused = await emu.invoke("quote review")
    assert "Only reviewers can do that" in refused.content


async def test_a_reviewer_cannot_approve_their_own_submission(harness: Harness) -> None:
    emu = harness.emu
    await submit(harness, "My very own words, honestly.", user="moderator")
    card = await emu.invoke("quote review", user="moderator")
    refused = await emu.press(card, "Approve", user="moderator")
    assert refused.ephemeral and "You submitted this one" in refused.content
    assert await pending(harness) == 1
    approved = await emu.press(card, "Approve", user="owner")  # another reviewer may
    assert approved.content.startswith("Approved submission #")

    await submit(harness, "Second thoughts about this one.", user="moderator")
    card = await emu.invoke("quote review", user="moderator")
    form = await emu.press(card, "Reject", user="moderator")  # withdrawing is fine
    withdrawn = await emu.submit_modal(form, {})
    assert withdrawn.content.startswith("Rejected submission #")
    assert await pending(harness) == 0


# ---- buttons naming another server's things ---------------------------------------------------


async def test_a_review_press_from_another_server_changes_nothing(harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    first = emu.config.guilds[0].id
    await submit(h, "Only the first server should decide on this.", guild=0)
    await submit(h, "The second server's own submission.", guild=1)
    card = await emu.invoke("quote review", user="moderator", guild_id=first)
    elsewhere = h.channel_id(guild=1)  # the moderator reviews there too
    for label in ("Approve", "Reject", "Skip"):
        forged = await press_crafted(emu, card, card.message.button(label)["custom_id"],
                                     user="moderator", channel_id=elsewhere)
        assert forged.ephemeral and forged.modal is None, label
        assert forged.content == ("That submission is not from this server. Run "
                                  "`/quote review` here to review this server's submissions.")
    assert await pending(h, 0) == 1 and await pending(h, 1) == 1
    assert emu.dms(user_id(h, "member")) == []


async def test_another_naming_another_servers_quote_is_refused(harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    second = emu.config.guilds[1].id
    member = user_id(h, "member")
    await submit(h, "Words only the first server's reviewers have seen.", "Secret Speaker")
    [waiting] = await h.store.quotes.submissions_by(h.guild_id, member)
    card = await emu.invoke("quote random", guild_id=second)
    forged_id = AnotherRequest(member, waiting.quote.id, True, None, None).custom_id
    forged = await press_crafted(emu, card, forged_id)
    assert forged.ephemeral
    assert forged.content == ("That button is not from this server. Run `/quote random` here "
                              "for a quote.")
    assert "Secret" not in forged.content

    # Ids too big for the database are refused the same way, not logged as a failure.
    for request in (AnotherRequest(member, TOO_BIG, True, None, None),
                    AnotherRequest(member, 1, False, TOO_BIG, None),
                    AnotherRequest(member, 1, False, None, TOO_BIG)):
        broken = await press_crafted(emu, card, request.custom_id)
        assert broken.ephemeral and "Something went wrong" not in broken.content
        assert "not from this server" in broken.content or "Run `/quote random`" in \
            broken.content

    # The same button naming a quote of this server's pool works as ever.
    canon = AnotherRequest(member, 1, True, None, None).custom_id
    fine = await press_crafted(emu, card, canon)
    assert fine.errors == [] and fine.embed is not None


async def test_character_buttons_show_only_this_servers_quotes(harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    second = emu.config.guilds[1].id
    member = user_id(h, "member")
    # Approved in the first server: a quote by the actor who plays Sarah Nelson.
    await submit(h, "A line only the first server approved.", "Olivia Colman")
    [waiting] = await h.store.quotes.submissions_by(h.guild_id, member)
    await h.store.quotes.decide(waiting.quote.id, guild_id=h.guild_id,
                                reviewer_id=user_id(h, "owner"), approve=True)
    sarah = h.bot.characters.index.named("Sarah Nelson")
    assert sarah is not None
    here = await emu.invoke("character", {"name": "Sarah Nelson"}, guild_id=h.guild_id)
    assert here.buttons == ["Show a quote"]

    card = await emu.invoke("character", {"name": "Nick Nelson"}, guild_id=second)
    for _ in range(5):
        shown = await press_crafted(emu, card, f"character:quote:{sarah.id}")
        assert shown.ephemeral
        assert "only the first server approved" not in str(shown.message.raw)
    for forged_id in (f"character:quote:{TOO_BIG}", f"character:pick:{member}:{TOO_BIG}",
                      f"characters:page:{member}:{TOO_BIG}:0:n"):
        broken = await press_crafted(emu, card, forged_id)
        assert broken.ephemeral and "Something went wrong" not in broken.content, forged_id
