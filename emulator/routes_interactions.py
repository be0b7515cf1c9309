"""Interaction callbacks and the interaction webhook (follow-ups, original response).

Discord's two interaction rules a bot trips over are enforced here: the first callback must
arrive within the deadline (3 s) or it gets 404/10062, and a second callback gets 400/40060.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, invalid_form_body, unknown
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES
from .limits import check_autocomplete, check_message, check_modal, is_empty_message
from .rest import ATTACHMENTS, RouteTable, body_of, no_content, ok, validate
from .results import InteractionRecord
from .state import MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING, StoredMessage

if TYPE_CHECKING:
    from .server import Emulator

# Which callback types Discord accepts for each interaction type.
_ALLOWED = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
_TRUE = ("1", "true", "True")


class InteractionRoutes:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world

    def register(self, table: RouteTable) -> None:
        table.add(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            self.callback,
            auth=False,
            exempt=True,
            validates=True,
        )
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        table.add("POST", hook, self.followup, auth=False, exempt=True, validates=True)
        for msg in ("/messages/@original", "/messages/{message_id}"):
            table.add("GET", hook + msg, self.get_message, auth=False, exempt=True)
            table.add(
                "PATCH", hook + msg, self.edit_message, auth=False, exempt=True, validates=True
            )
            table.add("DELETE", hook + msg, self.delete_message, auth=False, exempt=True)

    # -- callback -------------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        emu = self.emu
        record = emu.find_interaction(request.match_info)
        if record is None:
            raise unknown(10062, "interaction")
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if emu.clock.now() - record.dispatched_at > emu.interaction_deadline:
            emu.stats.late_callbacks += 1
            raise unknown(10062, "interaction")
        body = body_of(request)
        rtype = body.get("type")
        data = body.get("data") or {}
        if rtype not in _ALLOWED.get(record.type, set()):
            raise invalid_form_body(
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": f"Callback type {rtype!r} is not valid for "
                                f"interaction type {record.type}",
                            }
                        ]
                    }
                }
            )
        if rtype in (6, 7) and record.source_message_id is None:
            raise invalid_form_body(
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": "This interaction has no message to update",
                            }
                        ]
                    }
                }
            )
        if rtype in (4, 7):
            errs = check_message(data)
            validate(request, {"data": errs.tree} if errs else None)
            if rtype == 4 and is_empty_message(data, len(request.get(ATTACHMENTS) or [])):
                raise ApiError(400, 50006, "Cannot send an empty message")
        elif rtype == 8:
            validate(request, check_autocomplete(data))
        elif rtype == 9:
            validate(request, check_modal(data))
        else:
            validate(request)

        message: StoredMessage | None = None
        if rtype == 4:
            message = self._create(record, data, request.get(ATTACHMENTS) or [])
            record.ephemeral = message.ephemeral
            record.message_id = message.id
            record.answered = True
        elif rtype == 5:
            flags = MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
            message = self._create(record, {"content": ""}, [], flags=flags)
            record.ephemeral = message.ephemeral
            record.message_id = message.id
        elif rtype in (6, 7):
            record.message_id = record.source_message_id
            message = self.world.messages.get(record.source_message_id or 0)
            if rtype == 7 and message is not None:
                self.world.edit_message(message, data, attachments=request.get(ATTACHMENTS) or None)
                await self._announce("MESSAGE_UPDATE", message)
                record.answered = True
        elif rtype == 8:
            record.choices = list(data.get("choices") or [])
            record.answered = True
        elif rtype == 9:
            record.modal = data
            record.answered = True
        record.response_type = rtype
        emu.stats.callbacks += 1
        record.touch()

        if rtype == 8 or request.query.get("with_response") not in _TRUE:
            return no_content()
        return ok(self._callback_body(record, rtype, message))

    def _callback_body(
        self, record: InteractionRecord, rtype: int, message: StoredMessage | None
    ) -> dict[str, Any]:
        interaction: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "activity_instance_id": None,
            "response_message_id": str(message.id) if message else None,
            "response_message_loading": rtype == 5,
            "response_message_ephemeral": bool(message and message.ephemeral),
        }
        resource: dict[str, Any] = {"type": rtype}
        if message is not None:
            resource["message"] = message.payload
        return {"interaction": interaction, "resource": resource}

    def _create(
        self,
        record: InteractionRecord,
        data: dict[str, Any],
        attachments: list[dict[str, Any]],
        *,
        flags: int = 0,
        followup: bool = False,
    ) -> StoredMessage:
        user = self.world.users[record.user_id]
        extra: dict[str, Any] = {
            "webhook_id": str(self.emu.config.application_id),
            "application_id": str(self.emu.config.application_id),
            "interaction_metadata": {
                "id": str(record.id),
                "type": record.type,
                "user": self.world.user_payload(user),
                "authorizing_integration_owners": record.payload.get(
                    "authorizing_integration_owners", {}
                ),
            },
        }
        mtype = 0 if followup or record.type != 2 else 20
        msg = self.world.build_message(
            record.channel_id,
            data,
            message_type=mtype,
            flags=flags,
            attachments=attachments,
            extra=extra,
        )
        msg.interaction_id = record.id
        return msg

    async def _announce(self, event: str, message: StoredMessage) -> None:
        if message.ephemeral:
            return
        guild_id = message.payload.get("guild_id")
        intent = INTENT_GUILD_MESSAGES if guild_id else INTENT_DIRECT_MESSAGES
        await self.emu.gateway.dispatch(
            event, message.payload, guild_id=int(guild_id) if guild_id else None, intent=intent
        )

    # -- webhook --------------------------------------------------------------------------------

    def _hook_record(self, request: web.Request) -> InteractionRecord:
        emu = self.emu
        record = emu.find_interaction(request.match_info)
        if (
            record is None
            or request.match_info.get("webhook_id") != str(emu.config.application_id)
            or emu.clock.now() - record.dispatched_at > emu.config.interaction_token_ttl
        ):
            raise unknown(10015, "Webhook")
        return record

    def _target(self, request: web.Request, record: InteractionRecord) -> StoredMessage:
        mid = request.match_info.get("message_id")
        wanted = record.message_id if mid is None else (int(mid) if mid.isdigit() else None)
        allowed = {record.message_id, *record.followup_ids}
        msg = self.world.messages.get(wanted) if wanted in allowed and wanted is not None else None
        if msg is None or msg.deleted:
            raise unknown(10008, "Message")
        return msg

    async def followup(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        if record.response_type is None:
            raise unknown(10015, "Webhook")
        body = body_of(request)
        attachments = request.get(ATTACHMENTS) or []
        validate(request, check_message(body))
        if is_empty_message(body, len(attachments)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        original = self.world.messages.get(record.message_id or 0)
        if (
            record.response_type == 5
            and original is not None
            and original.payload["flags"] & MESSAGE_FLAG_LOADING
        ):
            # Discord turns the first follow-up after a "thinking" defer into the reply itself.
            self.world.edit_message(
                original,
                {**body, "flags": int(body.get("flags") or 0)},
                attachments=attachments or None,
            )
            msg = original
            await self._announce("MESSAGE_UPDATE", msg)
        else:
            msg = self._create(record, body, attachments, followup=True)
            record.followup_ids.append(msg.id)
            await self._announce("MESSAGE_CREATE", msg)
        record.answered = True
        self.emu.stats.followups += 1
        record.touch()
        if request.query.get("wait") in _TRUE:
            return ok(msg.payload)
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        return ok(self._target(request, record).payload)

    async def edit_message(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        msg = self._target(request, record)
        body = body_of(request)
        validate(request, check_message(body))
        self.world.edit_message(msg, body, attachments=request.get(ATTACHMENTS) or None)
        record.answered = True
        record.touch()
        await self._announce("MESSAGE_UPDATE", msg)
        return ok(msg.payload)

    async def delete_message(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        msg = self._target(request, record)
        self.world.delete_message(msg)
        record.touch()
        if not msg.ephemeral:
            data = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.payload.get("guild_id"):
                data["guild_id"] = msg.payload["guild_id"]
            await self.emu.gateway.dispatch(
                "MESSAGE_DELETE",
                data,
                guild_id=int(data["guild_id"]) if "guild_id" in data else None,
                intent=INTENT_GUILD_MESSAGES,
            )
        return no_content()
