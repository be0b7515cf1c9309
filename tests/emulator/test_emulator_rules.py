"""Discord's rules as the emulator enforces them, checked on the wire (no discord.py client),
plus unit checks of the rule helpers. These pin down the exact responses a bot will see."""

from __future__ import annotations

import json

import aiohttp
import pytest

from emulator import Emulator, Perm, RoleSpec, default_config
from emulator.faults import FaultSet
from emulator.limits import check_command_list, check_message, valid_command_name
from emulator.spec import SpecValidator, resolve_spec_path


@pytest.fixture
async def emu():
    async with Emulator() as emu:
        yield emu


@pytest.fixture
async def http(emu):
    headers = {"Authorization": f"Bot {emu.config.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


def general(emu):
    return emu.guild(0).channel("general").id


async def post(http, emu, path, body):
    async with http.post(emu.api_base + path, json=body) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def test_auth_unknown_routes_and_content_type(emu, http):
    async with aiohttp.ClientSession() as anon, anon.get(emu.api_base + "/users/@me") as resp:
        assert resp.status == 401
    async with http.get(emu.api_base + "/users/@me") as resp:
        assert resp.headers["Content-Type"] == "application/json"
    async with http.get(emu.api_base + "/guilds/1/audit-logs") as resp:
        assert resp.status == 404
    assert [(r.method, r.path) for r in emu.unknown_requests] == [("GET", "/guilds/1/audit-logs")]
    async with http.get(emu.api_base + "/gateway/bot") as resp:
        data = await resp.json()
    assert data["url"] == emu.gateway_url and data["shards"] == 1
    assert data["session_start_limit"]["max_concurrency"] == 1


async def test_message_limits(emu, http):
    status, body, _ = await post(
        http, emu, f"/channels/{general(emu)}/messages", {"content": "x" * 2001}
    )
    assert status == 400 and body["code"] == 50035
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    status, body, _ = await post(http, emu, f"/channels/{general(emu)}/messages", {"content": ""})
    assert status == 400 and body["code"] == 50006
    status, body, _ = await post(http, emu, "/channels/123/messages", {"content": "x"})
    assert status == 404 and body["code"] == 10003
    errs = check_message({"embeds": [{"title": "t" * 257, "fields": [{"name": "", "value": "v"}]}]})
    assert set(errs.tree["embeds"]["0"]) == {"title", "fields"}


async def test_allowed_mentions_decide_who_is_pinged():
    cfg = default_config()
    guild = cfg.guilds[0]
    guild.roles.append(RoleSpec(guild.id + 7, "News", mentionable=True))
    guild.roles.append(RoleSpec(guild.id + 8, "Quiet", mentionable=False))
    async with Emulator(cfg) as emu:
        headers = {"Authorization": f"Bot {emu.config.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            path = f"/channels/{general(emu)}/messages"
            content = f"<@&{guild.id + 7}> <@&{guild.id + 8}> @everyone <@{cfg.owner.id}>"
            _, default, _ = await post(http, emu, path, {"content": content})
            _, none, _ = await post(
                http, emu, path, {"content": content, "allowed_mentions": {"parse": []}}
            )
            _, one, _ = await post(
                http,
                emu,
                path,
                {
                    "content": content,
                    "allowed_mentions": {"parse": [], "roles": [str(guild.id + 7)]},
                },
            )
            status, _, _ = await post(
                http,
                emu,
                path,
                {"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
            )
        assert status == 400
    msgs = {m.id: m for m in emu.channel_messages(general(emu))}
    by_id = [msgs[int(d["id"])] for d in (default, none, one)]
    # Default: users and mentionable roles ping; @everyone needs Mention Everyone.
    assert by_id[0].pinged_role_ids == [guild.id + 7] and not by_id[0].pings_everyone
    assert by_id[0].pinged_user_ids == [cfg.owner.id]
    assert by_id[1].pinged_role_ids == [] and by_id[1].pinged_user_ids == []
    assert by_id[2].pinged_role_ids == [guild.id + 7] and by_id[2].pinged_user_ids == []


def test_command_rules():
    assert (
        valid_command_name("quote") and valid_command_name("ñandú") and valid_command_name("a-b_c'")
    )
    assert not valid_command_name("Quote") and not valid_command_name("two words")
    assert not valid_command_name("x" * 33) and not valid_command_name("")
    opt = {"name": "o", "description": "d", "type": 3}
    bad = [
        {
            "name": "a",
            "description": "d",
            "options": [dict(opt, autocomplete=True, choices=[{"name": "n", "value": "v"}])],
        },
        {"name": "b", "description": "d", "options": [opt, dict(opt, name="p", required=True)]},
        {"name": "c", "description": "d", "options": [dict(opt, name=f"o{i}") for i in range(26)]},
        {
            "name": "d",
            "description": "d",
            "options": [dict(opt, choices=[{"name": "n" * 101, "value": "v"}])],
        },
        {"name": "a", "description": ""},
    ]
    errors = check_command_list(bad).tree
    assert set(errors) == {"0", "1", "2", "3", "4"}
    assert "APPLICATION_COMMANDS_DUPLICATE_NAME" in json.dumps(errors["4"])
    assert not check_command_list([{"name": "ok", "description": "fine", "options": [opt]}])


def test_fault_matching():
    faults = FaultSet()
    fault = faults.add(
        "POST", "/channels/{id}/messages", channel_id=5, status=403, code=50001, times=1
    )
    assert faults.check("POST", "/channels/4/messages", {"channel_id": "4"}) is None
    err = faults.check("POST", "/channels/5/messages", {"channel_id": "5"})
    assert err is not None and err.status == 403 and err.body()["message"] == "Missing Access"
    assert faults.check("POST", "/channels/5/messages", {"channel_id": "5"}) is None  # used up
    assert fault.hits == 1
    limited = faults.rate_limited("POST", None, retry_after=900).error()
    assert limited.status == 429 and limited.headers["Via"] and limited.extra["retry_after"] == 900


async def test_crosspost_only_in_announcement_channels(emu, http):
    status, body, _ = await post(http, emu, f"/channels/{general(emu)}/messages", {"content": "x"})
    status, body, _ = await post(
        http, emu, f"/channels/{general(emu)}/messages/{body['id']}/crosspost", None
    )
    assert status == 400 and body["code"] == 50024


async def test_gateway_protocol(emu):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            emu.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
        ) as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 0}})
            msg = await ws.receive()
            assert ws.close_code == 4004 or msg.data == 4004
        async with session.ws_connect(emu.gateway_url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": emu.config.token, "intents": 1 << 8}})
            msg = await ws.receive()
            assert ws.close_code == 4014 or msg.data == 4014
        async with session.ws_connect(emu.gateway_url) as ws:
            await ws.receive_json()
            await ws.send_json(
                {"op": 6, "d": {"token": emu.config.token, "session_id": "x", "seq": 1}}
            )
            assert (await ws.receive_json()) == {"op": 9, "d": False, "s": None, "t": None}
        async with session.ws_connect(emu.gateway_url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": emu.config.token, "intents": 513}})
            ready = await ws.receive_json()
            create = await ws.receive_json()
            assert ready["t"] == "READY" and ready["s"] == 1 and ready["d"]["shard"] == [0, 1]
            assert ready["d"]["guilds"] == [{"id": str(emu.guild(0).id), "unavailable": True}]
            guild = create["d"]
            assert create["t"] == "GUILD_CREATE" and guild["member_count"] == len(guild["members"])
            everyone = [r for r in guild["roles"] if r["id"] == guild["id"]]
            assert everyone and int(everyone[0]["permissions"]) & Perm.VIEW_CHANNEL
            assert {c["type"] for c in guild["channels"]} == {0, 5}
            await emu.dispatch("CHANNEL_DELETE", {"id": "1"}, guild_id=emu.guild(0).id)
            event = await ws.receive_json()
            assert event["t"] == "CHANNEL_DELETE" and event["s"] == 3
            # `sending` runs once per frame, just before the write (interaction latency is
            # measured from it).
            stamps: list[float] = []

            def sending() -> None:
                stamps.append(emu.clock.now())

            guild_id = emu.guild(0).id
            sent = await emu.gateway.dispatch("CHANNEL_DELETE", {"id": "2"}, guild_id=guild_id,
                                              sending=sending)
            assert sent == 1 and len(stamps) == 1
            assert (await ws.receive_json())["s"] == 4 and len(stamps) == 1


def test_spec_validator_direct():
    path = resolve_spec_path("auto")
    if path is None:
        pytest.skip("Discord OpenAPI spec not found at ../shared/discord-api-spec/openapi.json")
    spec = SpecValidator(path)
    template = "/channels/{channel_id}/messages"
    assert spec.validate("POST", template, {"content": "hi", "nonce": 12345}) is None
    errors = spec.validate("POST", template, {"content": "hi", "embeds": "not a list"})
    assert errors is not None and "embeds" in errors
    assert spec.validate("POST", template, {"content": "hi", "tts": "yes"}) is not None
    command = {"name": "x", "description": "y", "type": 1, "options": [{"type": 99, "name": "o"}]}
    assert spec.validate("PUT", "/applications/{application_id}/commands", [command]) is not None
