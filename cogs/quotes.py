"""/quote: attributed quotes at random or by search, a quote of the day, and community
submissions with review. The logic lives in bot/quotes/ and bot/quotes/store.py; the cards in
bot/quotes/render.py. The quote-of-the-day poster and the search index's upkeep start and stop
with this cog."""

from __future__ import annotations

import itertools

import discord
from discord import app_commands
from discord.ext import commands

from bot.canon.models import Character
from bot.client import HeartstopperBot
from bot.core.errors import NO_MENTIONS, UserFacingError
from bot.core.formatting import CHOICE_NAME_LIMIT, CHOICES_MAX, escape, truncate
from bot.core.review import ReviewView
from bot.core.ui import reply
from bot.quotes import moderation
from bot.quotes.cooldown import MemberCooldown
from bot.quotes.daily import DailyQuotePoster
from bot.quotes.models import QuoteDraw, QuoteFilter, QuoteSubmission
from bot.quotes.moderation import quote_for_history
from bot.quotes.notify import missing_permissions, notify_reviewers
from bot.quotes.people import find_speaker, speaker_choices
from bot.quotes.render import (
    daily_now_text,
    daily_set_text,
    daily_status_text,
    decided_text,
    duplicate_embed,
    history_embed,
    mine_embed,
    moderated_text,
    no_match_text,
    notify_text,
    queue_embed,
    quote_embed,
    random_footer,
    recent_history_embed,
    review_embed,
    review_empty_text,
    reviewers_text,
    submitted_text,
    waiting_text,
)
from bot.quotes.review import (
    BOT_ROLE_REFUSED,
    EVERYONE_REFUSED,
    NOT_A_REVIEWER,
    NOT_FROM_HERE,
    OWN_SUBMISSION,
    is_reviewer,
    require_manage_server,
    tell_submitter,
)
from bot.quotes.rotation import QuoteRotation
from bot.quotes.schedule import (
    find_zone,
    format_local_time,
    next_occurrence,
    parse_local_time,
    zone_choices,
)
from bot.quotes.search import search_quotes
from bot.quotes.search_render import search_reply_embed
from bot.quotes.store import in_pool
from bot.quotes.submissions import (
    MAX_REASON_LENGTH,
    clean_reason,
    clean_submission,
    submit_quote,
)
from bot.quotes.upkeep import SearchIndexUpkeep
from bot.quotes.views import (
    QUEUE,
    REJECT_REASON,
    SEARCH,
    AnotherButton,
    AnotherRequest,
    PageButton,
    PageRequest,
    RecentSearches,
    another_view,
    pager_view,
)

MAX_SEASON = 20
MINE_SHOWN = 10
QUEUE_PAGE = 10  # waiting submissions per page of /quote queue
HISTORY_SHOWN = 20  # decisions shown by /quote history
# Generous for a person, tight for a script: 5 quotes per 20 s (Another included), 3
# submissions per 5 minutes.
RANDOM_RATE = (5, 20.0)
SUBMIT_RATE = (3, 300.0)
# A search costs the database up to its budget (bot/quotes/store.py): one per 3 s per member,
# and its Previous / Next (each a search again) 6 pages per 10 s.
SEARCH_RATE = (1, 3.0)
SEARCH_PAGE_RATE = (6, 10.0)
# A custom_id can be forged: ids in it must fit an SQLite integer before they reach a query.
_MAX_ID = 2**63 - 1
FOREIGN_BUTTON = "That button is not from this server. Run `/quote random` here for a quote."
SEARCH_FORGOTTEN = ("That search is too old to turn its pages (or the bot restarted since); "
                    "run `/quote search` again.")


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise UserFacingError("Quotes work in a server, not in DMs.")
    return interaction.guild_id


def _member_key(interaction: discord.Interaction) -> tuple[int | None, int]:
    return interaction.guild_id, interaction.user.id


def _matches(character: Character, typed: str) -> bool:
    wanted = typed.casefold().strip()
    return any(wanted in name.casefold() for name in (character.name, *character.aliases))


class Quotes(commands.Cog):
    quote = app_commands.Group(
        name="quote", description="Quotes from the creator and cast, with who said them and where",
        guild_only=True,
    )
    daily = app_commands.Group(name="daily", description="A quote of the day in a channel",
                               parent=quote)

    def __init__(self, bot: HeartstopperBot, *,
                 random_cooldown: MemberCooldown | None = None,
                 submit_cooldown: MemberCooldown | None = None,
                 page_cooldown: MemberCooldown | None = None) -> None:
        self.bot = bot
        self.random_cooldown = random_cooldown or MemberCooldown(*RANDOM_RATE)
        self.submit_cooldown = submit_cooldown or MemberCooldown(*SUBMIT_RATE)
        self.page_cooldown = page_cooldown or MemberCooldown(*SEARCH_PAGE_RATE)
        self.rotation = QuoteRotation(bot.store.quotes)
        self.recent_searches = RecentSearches()
        self.daily_poster = DailyQuotePoster(bot, bot.store, self.rotation, bot.clock)
        self.search_upkeep = SearchIndexUpkeep(bot.store.quotes)
        # Character names from memory (the bot's one index, shared with /character): loading
        # every character on each keystroke would be far too slow. The directory keeps it in
        # step with the store while any feature that reads it is loaded.
        self.characters = bot.characters

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AnotherButton, PageButton)
        # Built now, not on a member's first keystroke; fresh whichever cog loaded first.
        await self.characters.keep_fresh(background=self.bot.run_services)
        if self.bot.run_services:  # started in the process that leads (bot/core/leadership.py)
            # The upkeep first: it awaits a round before going on.
            self.bot.background.add("search index upkeep", self.search_upkeep.start,
                                    self.search_upkeep.stop)
            self.bot.background.add("quote of the day", self.daily_poster.start,
                                    self.daily_poster.stop)

    async def cog_unload(self) -> None:
        if self.bot.run_services:
            await self.characters.release()
        self.bot.remove_dynamic_items(AnotherButton, PageButton)
        await self.daily_poster.stop()
        await self.search_upkeep.stop()
        await self.rotation.flush()  # the draws shown just before

    # ---- /quote random ------------------------------------------------------------------

    @quote.command(name="random",
                   description="A random quote, never repeating until every matching one is shown")
    @app_commands.describe(person="Only quotes by this person",
                           character="Only quotes about this character",
                           season="Only quotes concerning this season")
    async def random(self, interaction: discord.Interaction, person: str | None = None,
                     character: str | None = None,
                     season: app_commands.Range[int, 1, MAX_SEASON] | None = None) -> None:
        guild_id = _guild_id(interaction)
        flt = await self.resolve_filter(guild_id, person, character, season)
        self.random_cooldown.hit(interaction)
        async with self.rotation.draw(guild_id, flt) as draw:
            embed, view = await self.quote_card(interaction, flt, draw)
            await reply(interaction, embed=embed, view=view, ephemeral=False)

    @random.autocomplete("person")
    async def _person_choices(self, interaction: discord.Interaction,
                              current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        names = await speaker_choices(self.bot.store.quotes, interaction.guild_id, current,
                                      CHOICES_MAX)
        return [app_commands.Choice(name=truncate(n, CHOICE_NAME_LIMIT), value=n[:100])
                for n in names]

    @random.autocomplete("character")
    async def _character_choices(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        index = self.characters.index
        matching = (c for c in index.characters if _matches(c, current))
        return [app_commands.Choice(name=truncate(c.name, CHOICE_NAME_LIMIT), value=c.name[:100])
                for c in itertools.islice(matching, CHOICES_MAX)]

    # ---- search ----------------------------------------------------------------------------

    @quote.command(name="search", description="Find quotes by their words, speaker or outlet")
    @app_commands.describe(text='Words to find; "exact phrase", OR, -word and word* also work')
    @app_commands.checks.cooldown(*SEARCH_RATE, key=_member_key)
    async def search(self, interaction: discord.Interaction, text: str) -> None:
        await self.show_search(interaction, text, 0, first=True)

    # ---- submissions -----------------------------------------------------------------------

    @quote.command(name="submit",
                   description="Propose a quote for this server; reviewers check it first")
    @app_commands.describe(text="The words, exactly as said (up to 1,000 characters)",
                           speaker="Who said it",
                           source="Where it was said: a link, or the outlet and date")
    async def submit(self, interaction: discord.Interaction, text: str, speaker: str,
                     source: str | None = None) -> None:
        guild_id = _guild_id(interaction)
        draft = clean_submission(text, speaker, source)
        self.submit_cooldown.hit(interaction)
        store = self.bot.store
        submitted = await submit_quote(store.quotes, guild_id=guild_id,
                                       user_id=interaction.user.id, draft=draft)
        pending = await store.quotes.pending_count(guild_id)
        embeds = []
        if submitted.near_duplicate is not None:
            watched = await store.guilds.watched_season(guild_id)
            embeds.append(duplicate_embed(submitted.near_duplicate, watched_season=watched))
        await reply(interaction, submitted_text(pending), embeds=embeds)
        # After the member's reply, and never raising: a notice channel the bot lost access
        # to must not break submitting.
        await notify_reviewers(interaction.guild, store.quotes, submitted.submission, pending)

    @submit.autocomplete("speaker")
    async def _speaker_choices(self, interaction: discord.Interaction,
                               current: str) -> list[app_commands.Choice[str]]:
        wanted = current.casefold().strip()
        people = await self.bot.store.canon.people()
        return [app_commands.Choice(name=truncate(p.name, CHOICE_NAME_LIMIT), value=p.name[:100])
                for p in people if wanted in p.name.casefold()][:CHOICES_MAX]

    @quote.command(name="mine", description="Where your quote submissions stand")
    async def mine(self, interaction: discord.Interaction) -> None:
        guild_id = _guild_id(interaction)
        quotes = self.bot.store.quotes
        submissions = await quotes.submissions_by(guild_id, interaction.user.id,
                                                  limit=MINE_SHOWN)
        counts = await quotes.submission_counts(guild_id, interaction.user.id)
        await reply(interaction, embed=mine_embed(submissions, counts))

    @quote.command(name="review", description="Review submitted quotes one by one (reviewers)")
    async def review(self, interaction: discord.Interaction) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        quotes = self.bot.store.quotes
        submission = await quotes.next_pending(guild_id)
        if submission is None:
            await reply(interaction, review_empty_text())
            return
        embed, view = await self.review_card(guild_id, submission)
        await reply(interaction, waiting_text(await quotes.pending_count(guild_id)), embed=embed,
                    view=view)

    @quote.command(name="queue", description="List the submissions waiting for review "
                                             "(reviewers)")
    async def queue(self, interaction: discord.Interaction) -> None:
        await self.may_review(interaction)
        await self.show_queue(interaction, 0, first=True)

    # ---- moderation: removing, hiding, and what was decided --------------------------------

    @quote.command(name="remove",
                   description="Take an approved member quote out of this server (reviewers)")
    @app_commands.rename(quote_id="id")
    @app_commands.describe(quote_id="The quote's number (in the footer of its card)",
                           reason="Why (reviewers and the member who sent it will see it)")
    async def quote_remove(self, interaction: discord.Interaction,
                           quote_id: app_commands.Range[int, 1],
                           reason: app_commands.Range[str, 1, MAX_REASON_LENGTH]) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        done = await moderation.remove(self.bot.store.quotes, guild_id=guild_id,
                                       quote_id=quote_id, actor_id=interaction.user.id,
                                       reason=reason)
        await reply(interaction, moderated_text(done.quote, done.action))

    @quote.command(name="restore", description="Bring back a removed member quote (reviewers)")
    @app_commands.rename(quote_id="id")
    @app_commands.describe(quote_id="The quote's number (`/quote history` lists removals)")
    async def quote_restore(self, interaction: discord.Interaction,
                            quote_id: app_commands.Range[int, 1]) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        done = await moderation.restore(self.bot.store.quotes, guild_id=guild_id,
                                        quote_id=quote_id, actor_id=interaction.user.id)
        await reply(interaction, moderated_text(done.quote, done.action))

    @quote.command(name="hide",
                   description="Stop showing a shared quote in this server (reviewers)")
    @app_commands.rename(quote_id="id")
    @app_commands.describe(quote_id="The quote's number (in the footer of its card)",
                           reason="Why, for the other reviewers (optional)")
    async def quote_hide(self, interaction: discord.Interaction,
                         quote_id: app_commands.Range[int, 1],
                         reason: app_commands.Range[str, 1, MAX_REASON_LENGTH] | None = None
                         ) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        done = await moderation.hide(self.bot.store.quotes, guild_id=guild_id,
                                     quote_id=quote_id, actor_id=interaction.user.id,
                                     reason=reason)
        await reply(interaction, moderated_text(done.quote, done.action))

    @quote.command(name="unhide", description="Show a hidden shared quote here again (reviewers)")
    @app_commands.rename(quote_id="id")
    @app_commands.describe(quote_id="The quote's number (`/quote history` lists what is hidden)")
    async def quote_unhide(self, interaction: discord.Interaction,
                           quote_id: app_commands.Range[int, 1]) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        done = await moderation.unhide(self.bot.store.quotes, guild_id=guild_id,
                                       quote_id=quote_id, actor_id=interaction.user.id)
        await reply(interaction, moderated_text(done.quote, done.action))

    @quote.command(name="history",
                   description="Who approved, removed or hid a quote, and when (reviewers)")
    @app_commands.rename(quote_id="id")
    @app_commands.describe(quote_id="The quote's number; leave out for the latest decisions here")
    async def quote_history(self, interaction: discord.Interaction,
                            quote_id: app_commands.Range[int, 1] | None = None) -> None:
        guild_id = _guild_id(interaction)
        await self.may_review(interaction)
        quotes = self.bot.store.quotes
        if quote_id is None:
            entries = await quotes.history(guild_id, limit=HISTORY_SHOWN)
            await reply(interaction, embed=recent_history_embed(entries))
            return
        quote, standing = await quote_for_history(quotes, guild_id, quote_id)
        entries = await quotes.history(guild_id, quote_id, limit=HISTORY_SHOWN)
        submission = await quotes.submission(quote_id) if quote.submitted_by else None
        await reply(interaction, embed=history_embed(quote, standing, entries, submission))

    @quote.command(
        name="reviewers",
        description="Show or choose the role that may review submissions (besides Manage Messages)",
    )
    @app_commands.describe(role="The reviewer role (not @everyone); leave out to see the setting",
                           clear="True: remove the reviewer role, leaving only Manage Messages",
                           notify="A channel where I say (pinging nobody) that a submission waits",
                           notify_off="True: stop announcing new submissions")
    @app_commands.check(require_manage_server)  # the server's permission, not a channel's
    async def reviewers(self, interaction: discord.Interaction,
                        role: discord.Role | None = None, clear: bool = False,
                        notify: discord.TextChannel | None = None,
                        notify_off: bool = False) -> None:
        guild_id = _guild_id(interaction)
        quotes = self.bot.store.quotes
        if role is not None and clear:
            raise UserFacingError("Give a `role` or `clear:True`, not both.")
        if notify is not None and notify_off:
            raise UserFacingError("Give a `notify` channel or `notify_off:True`, not both.")
        if notify is not None or notify_off:
            if role is not None or clear:
                raise UserFacingError("Change the role and the notice channel one at a time.")
            if notify is not None:
                missing = missing_permissions(notify)
                if missing:
                    raise UserFacingError(
                        f"I can't post in {notify.mention}: I'm missing "
                        f"{' and '.join(f'**{m}**' for m in missing)} there. Grant "
                        f"{'them' if len(missing) > 1 else 'it'}, or pick another channel.")
            await quotes.set_notify_channel(guild_id, notify.id if notify else None)
            await reply(interaction, notify_text(await quotes.settings(guild_id), changed=True))
            return
        if role is not None:
            if role.is_default():
                raise UserFacingError(EVERYONE_REFUSED)
            if role.is_bot_managed():
                raise UserFacingError(BOT_ROLE_REFUSED.format(role=role.mention))
            await quotes.set_reviewer_role(guild_id, role.id)
            text = reviewers_text(role.id, exists=True, changed=True)
        elif clear:
            await quotes.set_reviewer_role(guild_id, None)
            text = reviewers_text(None, exists=False, changed=True)
        else:
            role_id = await quotes.reviewer_role(guild_id)
            guild = interaction.guild
            exists = role_id is not None and guild is not None and guild.get_role(role_id)
            text = reviewers_text(role_id, exists=bool(exists), changed=False)
            text += "\n" + notify_text(await quotes.settings(guild_id), changed=False)
        await reply(interaction, text)

    # ---- quote of the day ------------------------------------------------------------------

    @daily.command(name="set", description="Post a quote every day in a channel at a local time")
    @app_commands.describe(channel="Where to post", time="Local time, HH:MM (24-hour clock)",
                           timezone="Your time zone, e.g. Europe/London")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def daily_set(self, interaction: discord.Interaction, channel: discord.TextChannel,
                        time: str, timezone: str) -> None:
        guild_id = _guild_id(interaction)
        at = parse_local_time(time)
        zone = find_zone(timezone)
        me = channel.guild.me
        perms = channel.permissions_for(me) if me is not None else None
        if perms is None or not (perms.view_channel and perms.send_messages
                                 and perms.embed_links):
            raise UserFacingError(f"I can't post in {channel.mention}: I need View Channel, Send "
                                  "Messages and Embed Links there. Grant them, or pick another "
                                  "channel.")
        bot = self.bot
        schedule = await bot.store.quotes.set_daily(
            guild_id=guild_id, channel_id=channel.id, local_time=format_local_time(at),
            timezone=zone.key, next_due=next_occurrence(bot.clock(), at, zone),
            set_by=interaction.user.id,
        )
        await reply(interaction, daily_set_text(schedule))

    @daily_set.autocomplete("timezone")
    async def _zone_choices(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in zone_choices(current, CHOICES_MAX)]

    @daily.command(name="off", description="Stop the quote of the day")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def daily_off(self, interaction: discord.Interaction) -> None:
        cleared = await self.bot.store.quotes.clear_daily(_guild_id(interaction))
        text = ("The quote of the day is off." if cleared else
                "There was no quote of the day to stop.")
        await reply(interaction, text)

    @daily.command(name="now", description="Post a quote of the day in its channel now")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def daily_now(self, interaction: discord.Interaction) -> None:
        guild_id = _guild_id(interaction)
        schedule = await self.bot.store.quotes.daily(guild_id)
        guild = interaction.guild
        channel = guild.get_channel(schedule.channel_id) if schedule and guild else None
        if schedule is not None and channel is not None:
            # From the cache, so a channel the bot cannot post in costs no refused request.
            me = channel.guild.me
            perms = channel.permissions_for(me) if me is not None else None
            if perms is None or not (perms.view_channel and perms.send_messages
                                     and perms.embed_links):
                raise UserFacingError(f"I can't post in {channel.mention}: I need View Channel, "
                                      "Send Messages and Embed Links there. Grant them, or "
                                      "choose another channel with `/quote daily set`.")
        # Posting can wait for this server's scheduled post or a rate limit: acknowledge within
        # Discord's 3 seconds first, so a moderator never sees a failure and presses again.
        await interaction.response.defer(ephemeral=True, thinking=True)
        posted = await self.daily_poster.post_now(guild_id)
        await reply(interaction, daily_now_text(posted))

    @daily.command(name="show", description="Where and when the quote of the day is posted")
    async def daily_show(self, interaction: discord.Interaction) -> None:
        schedule = await self.bot.store.quotes.daily(_guild_id(interaction))
        await reply(interaction, daily_status_text(schedule))

    # ---- behind the commands and buttons ------------------------------------------------

    async def resolve_filter(self, guild_id: int, person: str | None, character: str | None,
                             season: int | None) -> QuoteFilter:
        """The filter for these options; a name that matches nothing is refused rather than
        silently ignored."""
        speaker = None
        if person and person.strip():
            speaker = await find_speaker(self.bot.store.quotes, guild_id, person)
        character_id = None
        if character and character.strip():
            found = self.characters.index.named(character)
            if found is None:
                raise UserFacingError(f"I don't know a character called "
                                      f"{escape(truncate(character, 80))}. Pick one from the "
                                      "suggestions.")
            character_id = found.id
        return QuoteFilter(speaker, character_id, season)

    def describe(self, flt: QuoteFilter) -> str | None:
        """'by Kit Connor about Nick Nelson concerning season 2', escaped; None for no filter."""
        labels = []
        if flt.person is not None:
            labels.append(f"by {escape(flt.person)}")
        if flt.character_id is not None:
            found = self.characters.index.get(flt.character_id)
            labels.append(f"about {escape(found.name if found else 'that character')}")
        if flt.season is not None:
            labels.append(f"concerning season {flt.season}")
        return " ".join(labels) or None

    async def quote_card(self, interaction: discord.Interaction, flt: QuoteFilter,
                         draw: QuoteDraw | None) -> tuple[discord.Embed, discord.ui.View]:
        """A quote of the rotation as a card, with its Another button."""
        guild_id = _guild_id(interaction)
        if draw is None:
            raise UserFacingError(no_match_text(self.describe(flt)))
        watched = await self.bot.store.guilds.watched_season(guild_id)
        embed = quote_embed(draw.quote, watched_season=watched,
                            footer=random_footer(draw.cycle, draw.new_cycle))
        request = AnotherRequest(interaction.user.id, draw.quote.id, flt.person is not None,
                                 flt.character_id, flt.season)
        return embed, another_view(request)

    async def another(self, interaction: discord.Interaction, request: AnotherRequest) -> None:
        """A press of Another: the same filter, rebuilt from the button. Its custom_id could be
        forged, so the quote it names must be one this server may show."""
        guild_id = _guild_id(interaction)
        if (request.shown_quote_id > _MAX_ID or (request.character_id or 0) > _MAX_ID
                or (request.season or 0) > MAX_SEASON):
            raise UserFacingError(FOREIGN_BUTTON)
        shown = await self.bot.store.quotes.quote(request.shown_quote_id)
        if shown is not None and not in_pool(shown, guild_id):
            raise UserFacingError(FOREIGN_BUTTON)
        person = None
        if request.by_speaker:
            if shown is None:
                raise UserFacingError("That quote is gone; run `/quote random` again.")
            person = shown.speaker_name
        self.random_cooldown.hit(interaction)
        flt = QuoteFilter(person, request.character_id, request.season)
        async with self.rotation.draw(guild_id, flt) as draw:
            embed, view = await self.quote_card(interaction, flt, draw)
            await interaction.response.edit_message(embed=embed, view=view,
                                                    allowed_mentions=NO_MENTIONS)

    # ---- search ----------------------------------------------------------------------------

    async def turn_page(self, interaction: discord.Interaction, request: PageRequest) -> None:
        """Previous or Next under search results or the review queue."""
        if request.kind == QUEUE:
            await self.show_queue(interaction, request.page, first=False)
            return
        text = (request.query if request.query is not None
                else self.recent_searches.text(request.query_key or ""))
        if text is None:
            raise UserFacingError(SEARCH_FORGOTTEN)
        await self.show_search(interaction, text, request.page, first=False)

    async def show_search(self, interaction: discord.Interaction, text: str, page: int, *,
                          first: bool) -> None:
        guild_id = _guild_id(interaction)
        if not first:
            self.page_cooldown.hit(interaction)  # each page is a search again
        result = await search_quotes(self.bot.store.quotes, guild_id, text, page=page)
        watched = await self.bot.store.guilds.watched_season(guild_id)
        embed = search_reply_embed(result, watched_season=watched)
        view = pager_view(SEARCH, interaction.user.id, page=result.page.page,
                          page_count=result.page.page_count, query=text,
                          searches=self.recent_searches)
        if first:
            await reply(interaction, embed=embed, view=view or discord.utils.MISSING)
        else:
            await interaction.response.edit_message(embed=embed, view=view,
                                                    allowed_mentions=NO_MENTIONS)

    async def show_queue(self, interaction: discord.Interaction, page: int, *,
                         first: bool) -> None:
        guild_id = _guild_id(interaction)
        if not first:
            await self.may_review(interaction)  # still a reviewer?
        quotes = self.bot.store.quotes
        count = await quotes.pending_count(guild_id)
        page = max(0, min(page, -(-count // QUEUE_PAGE) - 1))
        waiting = await quotes.pending(guild_id, offset=page * QUEUE_PAGE, limit=QUEUE_PAGE)
        embed = queue_embed(waiting, pending_count=count, page=page, per_page=QUEUE_PAGE)
        view = pager_view(QUEUE, interaction.user.id, page=page,
                          page_count=-(-count // QUEUE_PAGE))
        if first:
            await reply(interaction, embed=embed, view=view or discord.utils.MISSING)
        else:
            await interaction.response.edit_message(embed=embed, view=view,
                                                    allowed_mentions=NO_MENTIONS)

    # ---- review: this cog is the submissions' ReviewFlow (bot/core/review.py) ---------------

    async def may_review(self, interaction: discord.Interaction) -> bool:
        role_id = await self.bot.store.quotes.reviewer_role(_guild_id(interaction))
        if not is_reviewer(interaction, role_id):
            raise UserFacingError(NOT_A_REVIEWER)
        return True

    async def check(self, interaction: discord.Interaction, quote_id: int) -> QuoteSubmission:
        """A reviewer of this server, pressing for a submission of this server: a press is
        looked up by its message, which a forged press can name from anywhere."""
        await self.may_review(interaction)
        submission = await self.bot.store.quotes.submission(quote_id)
        if submission is None or submission.quote.guild_id != _guild_id(interaction):
            raise UserFacingError(NOT_FROM_HERE)
        return submission

    async def review_card(self, guild_id: int,
                          submission: QuoteSubmission) -> tuple[discord.Embed, ReviewView]:
        quotes = self.bot.store.quotes
        duplicate = (await quotes.quote(submission.near_duplicate_of)
                     if submission.near_duplicate_of else None)
        embed = review_embed(submission, pending_count=await quotes.pending_count(guild_id),
                             duplicate=duplicate)
        view = ReviewView(self, submission.quote.id, reason=REJECT_REASON)
        return embed, view

    async def decide(self, interaction: discord.Interaction, quote_id: int, approve: bool,
                     reason: str | None) -> None:
        guild_id = _guild_id(interaction)
        submission = await self.check(interaction, quote_id)
        if approve and submission.quote.submitted_by == interaction.user.id:
            raise UserFacingError(OWN_SUBMISSION)  # rejecting one's own is withdrawing it
        reason = clean_reason(reason)
        # The DM can take a moment; acknowledge first, then update the card.
        await interaction.response.defer()
        quotes = self.bot.store.quotes
        decided = await quotes.decide(quote_id, guild_id=guild_id,
                                      reviewer_id=interaction.user.id, approve=approve,
                                      reason=reason)
        if decided is None:
            note = f"Submission #{quote_id} was already reviewed by someone else."
        else:
            guild_name = interaction.guild.name if interaction.guild else "a server"
            dm_status = await tell_submitter(self.bot, quotes, decided, guild_name)
            note = decided_text(decided, dm_status)
        await self._show_next(interaction, guild_id, note, after_id=quote_id)

    async def skip(self, interaction: discord.Interaction, quote_id: int) -> None:
        await interaction.response.defer()
        await self._show_next(interaction, _guild_id(interaction), None, after_id=quote_id)

    async def _show_next(self, interaction: discord.Interaction, guild_id: int,
                         note: str | None, *, after_id: int) -> None:
        following = await self.bot.store.quotes.next_pending(guild_id, after_id=after_id)
        if following is None:
            text = "\n".join(t for t in (note, review_empty_text()) if t)
            await interaction.edit_original_response(content=text, embed=None, view=None,
                                                     allowed_mentions=NO_MENTIONS)
            return
        if note is None and following.quote.id == after_id:
            note = "That is the only submission waiting."
        embed, view = await self.review_card(guild_id, following)
        await interaction.edit_original_response(content=note, embed=embed, view=view,
                                                 allowed_mentions=NO_MENTIONS)


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(Quotes(bot))
