"""The one review card every moderation queue uses (quote submissions, held feed entries).

A queue is a `ReviewFlow`: who may press (checked on every press, since a press names a message
and a forged one can name a message of another server), what approving or rejecting does, and
what skipping shows next. The card only turns presses into those calls, so the two queues look
and behave alike and a third needs no new view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import discord

from bot.core.errors import report_error
from bot.core.ui import BaseView


class ReviewFlow(Protocol):
    async def check(self, interaction: discord.Interaction, item_id: int) -> object:
        """Raise UserFacingError unless this member may decide this item from here."""
        ...

    async def decide(self, interaction: discord.Interaction, item_id: int, approve: bool,
                     reason: str | None) -> None:
        """Approve or reject the item, answer the press, and show the next one."""
        ...

    async def skip(self, interaction: discord.Interaction, item_id: int) -> None:
        """Leave the item waiting and show the next one."""
        ...


@dataclass(frozen=True, slots=True)
class ReasonPrompt:
    """The form a rejection asks for a reason with (a queue without one rejects at once)."""

    label: str
    placeholder: str
    max_length: int


@dataclass(frozen=True, slots=True)
class ReviewLabels:
    approve: str = "Approve"
    reject: str = "Reject"
    skip: str = "Skip"
    noun: str = "submission"  # in the reason form's title: "Reject submission #12"


class ReviewView(BaseView):
    """Approve / Reject / Skip for one item of a queue."""

    def __init__(self, flow: ReviewFlow, item_id: int, *, labels: ReviewLabels = ReviewLabels(),
                 reason: ReasonPrompt | None = None, timeout: float = 900) -> None:
        super().__init__(timeout=timeout)
        self.flow = flow
        self.item_id = item_id
        self.labels = labels
        self.reason = reason
        self.approve.label = labels.approve
        self.reject.label = labels.reject
        self.skip.label = labels.skip

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await self.flow.check(interaction, self.item_id)  # a refusal raises, to on_error
        return True

    @discord.ui.button(label="Approve", style=discord.ButtonStyle.success)
    async def approve(self, interaction: discord.Interaction,
                      button: discord.ui.Button[ReviewView]) -> None:
        await self.flow.decide(interaction, self.item_id, True, None)

    @discord.ui.button(label="Reject", style=discord.ButtonStyle.danger)
    async def reject(self, interaction: discord.Interaction,
                     button: discord.ui.Button[ReviewView]) -> None:
        if self.reason is None:
            await self.flow.decide(interaction, self.item_id, False, None)
            return
        title = f"{self.labels.reject} {self.labels.noun} #{self.item_id}"
        await interaction.response.send_modal(
            ReasonForm(self.flow, self.item_id, self.reason, title=title))

    @discord.ui.button(label="Skip", style=discord.ButtonStyle.secondary)
    async def skip(self, interaction: discord.Interaction,
                   button: discord.ui.Button[ReviewView]) -> None:
        await self.flow.skip(interaction, self.item_id)


class ReasonForm(discord.ui.Modal):
    """The optional reason for a rejection. A modal submit is not covered by the view's check,
    so the flow checks the member again."""

    def __init__(self, flow: ReviewFlow, item_id: int, prompt: ReasonPrompt, *,
                 title: str) -> None:
        super().__init__(title=title[:45], timeout=900)  # Discord: a modal title is <= 45
        self.flow = flow
        self.item_id = item_id
        self.reason: discord.ui.TextInput[ReasonForm] = discord.ui.TextInput(
            custom_id="reason", label=prompt.label[:45], style=discord.TextStyle.paragraph,
            required=False, max_length=prompt.max_length, placeholder=prompt.placeholder[:100])
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.flow.check(interaction, self.item_id)
        await self.flow.decide(interaction, self.item_id, False, self.reason.value or None)

    async def on_error(  # type: ignore[override]  # discord.py: Modal.on_error drops BaseView's item
            self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)
