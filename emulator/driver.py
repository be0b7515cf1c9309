"""Acting as Discord users: run slash commands, type into autocomplete, press buttons, pick
from selects, submit modals, and wait until the bot has answered.

"Answered" means Discord would show the user something: a reply, an update, choices, a modal,
or the follow-up after a "thinking" defer. After that the driver waits a short quiet period
(`settle`) so follow-ups and edits made right after the first answer are included.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .errors import InvocationError, NoAnswer
from .results import InteractionRecord, InteractionResult, SentMessage, walk_components

if TYPE_CHECKING:
    from .clock import Clock
    from .config import EmulatorConfig
    from .gateway import Gateway
    from .interactions import InteractionFactory
    from .server import EmulatorStats
    from .state import World


class DriverMixin:
    # What the driver uses of the Emulator it is mixed into (emulator/server.py sets them).
    if TYPE_CHECKING:
        config: EmulatorConfig
        clock: Clock
        world: World
        gateway: Gateway
        factory: InteractionFactory
        stats: EmulatorStats
        interactions: list[InteractionRecord]
        interactions_by_id: dict[int, InteractionRecord]

    async def invoke(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: Any = None,
        dm: bool = False,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
        settle: float | None = None,
    ) -> InteractionResult:
        """Run `/command` ("quote random" for subcommands) as `user` (default: the guild's
        default invoker). `permissions` overrides the member's computed permissions."""
        ctx = self.factory.context(
            guild_id=guild_id,
            channel_id=channel_id,
            user=user,
            dm=dm,
            permissions=permissions,
            locale=locale,
        )
        data = self.factory.command(ctx, command, options)
        payload = self.factory.base_payload(ctx, 2, data)
        record = await self._dispatch_interaction(payload, ctx)
        return await self._await_answer(record, timeout, settle)

    async def autocomplete(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: Any = None,
        dm: bool = False,
        permissions: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while the user types `options[focused]`."""
        ctx = self.factory.context(
            guild_id=guild_id, channel_id=channel_id, user=user, dm=dm, permissions=permissions
        )
        data = self.factory.command(ctx, command, options, focused=focused)
        payload = self.factory.base_payload(ctx, 4, data)
        record = await self._dispatch_interaction(payload, ctx)
        result = await self._await_answer(record, timeout, 0.0)
        if result.choices is None:
            raise NoAnswer(
                f"autocomplete for {command!r} was not answered validly: {result.errors}"
            )
        return result.choices

    async def press(
        self,
        message: Any,
        label: str | None = None,
        *,
        custom_id: str | None = None,
        user: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
        settle: float | None = None,
    ) -> InteractionResult:
        """Click a button found by label or custom_id on a message (a result, a SentMessage, a
        payload or an id). The default clicker is whoever caused the message."""
        if label is None and custom_id is None:
            raise InvocationError("press() needs a label or a custom_id")
        stored = self._resolve_message(message)
        button = None
        for c in walk_components(stored.payload.get("components") or []):
            if c.get("type") == 2 and (
                (label is not None and c.get("label") == label)
                or (custom_id is not None and c.get("custom_id") == custom_id)
            ):
                button = c
                break
        if button is None:
            raise InvocationError(
                f"no button {label or custom_id!r}; buttons: {SentMessage(stored).buttons}"
            )
        if button.get("disabled"):
            raise InvocationError(f"button {label or custom_id!r} is disabled")
        if "custom_id" not in button:
            raise InvocationError(f"button {label or custom_id!r} is a link or premium button")
        return await self._component(stored, button, None, user, timeout, settle)

    async def select(
        self,
        message: Any,
        custom_id: str,
        values: list[Any],
        *,
        user: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
        settle: float | None = None,
    ) -> InteractionResult:
        """Pick `values` (option values, or ids/names for user/role/channel selects)."""
        stored = self._resolve_message(message)
        component = next(
            (
                c
                for c in walk_components(stored.payload.get("components") or [])
                if c.get("custom_id") == custom_id and c.get("type") in (3, 5, 6, 7, 8)
            ),
            None,
        )
        if component is None:
            raise InvocationError(f"no select {custom_id!r} on message {stored.id}")
        if component.get("disabled"):
            raise InvocationError(f"select {custom_id!r} is disabled")
        return await self._component(stored, component, values, user, timeout, settle)

    async def submit_modal(
        self,
        opened_by: InteractionResult,
        values: dict[str, Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
        settle: float | None = None,
    ) -> InteractionResult:
        """Fill and submit the modal the bot opened in answer to `opened_by`."""
        modal = opened_by.modal
        if modal is None:
            raise InvocationError(f"the bot did not open a modal: {opened_by!r}")
        prev = opened_by.record
        ctx = self.factory.context(channel_id=prev.channel_id, user=prev.user_id)
        data = self.factory.modal_data(modal, values)
        payload = self.factory.base_payload(ctx, 5, data)
        source = self.world.messages.get(prev.source_message_id or 0)
        if source is not None:
            payload["message"] = source.payload
        record = await self._dispatch_interaction(payload, ctx, source=source)
        return await self._await_answer(record, timeout, settle)

    # -- internals ------------------------------------------------------------------------------

    def _resolve_message(self, message: Any):
        if isinstance(message, InteractionResult):
            msg = message.message
            if msg is None:
                raise InvocationError(f"the interaction has no visible message: {message!r}")
            message = msg
        if isinstance(message, SentMessage):
            mid = message.id
        elif isinstance(message, dict):
            mid = int(message["id"])
        else:
            mid = int(getattr(message, "id", message))
        stored = self.world.messages.get(mid)
        if stored is None or stored.deleted:
            raise InvocationError(f"unknown or deleted message {mid}")
        return stored

    async def _component(self, stored, component, values, user, limit, settle):
        if user is None and stored.interaction_id is not None:
            origin = self.interactions_by_id.get(stored.interaction_id)
            user = origin.user_id if origin else None
        ctx = self.factory.context(channel_id=stored.channel_id, user=user)
        data = self.factory.component_data(ctx, component, values)
        payload = self.factory.base_payload(ctx, 3, data)
        payload["message"] = stored.payload
        record = await self._dispatch_interaction(payload, ctx, source=stored)
        return await self._await_answer(record, limit, settle)

    async def _dispatch_interaction(
        self, payload, ctx, *, source=None
    ) -> InteractionRecord:
        if not self.gateway.active_sessions():
            raise InvocationError("no bot is connected to the emulator's gateway")
        record = InteractionRecord(
            id=int(payload["id"]),
            token=payload["token"],
            type=payload["type"],
            guild_id=ctx.guild.id if ctx.guild else None,
            channel_id=ctx.channel.id,
            user_id=ctx.user.id,
            dispatched_at=self.clock.now(),
            payload=payload,
            source_message_id=source.id if source is not None else None,
        )
        self.interactions.append(record)
        self.interactions_by_id[record.id] = record
        self.stats.interactions += 1

        def sending() -> None:
            # The deadline runs from when Discord sent the event, not from when we built it.
            # Stamped as the frame goes out, not after: the write wakes the bot, which may take
            # this process's CPU until it has answered, and a later stamp would miss that work.
            # (An event only buffered for a RESUME keeps the stamp it was built with.)
            record.dispatched_at = self.clock.now()

        sent = await self.gateway.dispatch(
            "INTERACTION_CREATE", payload, guild_id=ctx.guild.id if ctx.guild else None,
            sending=sending,
        )
        if not sent:
            raise InvocationError("no gateway session owns this guild")
        return record

    async def _await_answer(
        self, record: InteractionRecord, limit: float | None, settle: float | None
    ) -> InteractionResult:
        loop = asyncio.get_running_loop()
        limit = self.config.answer_timeout if limit is None else limit
        settle = self.config.settle if settle is None else settle
        end = loop.time() + limit

        def finished() -> bool:
            return record.answered or bool(record.errors) or record.response_type in (6, 8, 9)

        while not finished():
            remaining = end - loop.time()
            if remaining <= 0:
                break
            record.event.clear()
            if finished():
                break
            try:
                await asyncio.wait_for(record.event.wait(), remaining)
            except TimeoutError:
                break
        if record.activity == 0:
            data = record.payload["data"]
            raise NoAnswer(
                f"the bot did not answer interaction {record.id} "
                f"({data.get('name') or data.get('custom_id')}) "
                f"within {limit}s"
            )
        while settle > 0:
            remaining = min(settle, end - loop.time())
            if remaining <= 0:
                break
            record.event.clear()
            try:
                await asyncio.wait_for(record.event.wait(), remaining)
            except TimeoutError:
                break
        from .server import Emulator  # here: server.py imports this module

        assert isinstance(self, Emulator)  # the one class this mixin is for
        return InteractionResult(self, record)
