"""Discord does not count interaction responses against the bot's global 50 requests per second:
callbacks, follow-ups and edits of the original response go through however full the bucket
is, and use none of it. The burst benchmark (a premiere night of interactions while news fans
out at 45 sends a second) depends on the emulator agreeing."""

from __future__ import annotations

import aiohttp

from emulator import Emulator
from emulator.ratelimit import SlidingWindow

LIMIT = 3
WINDOW = 600.0  # long enough that nothing leaves the window during the test


def _tight(emu: Emulator) -> None:
    """A global bucket of LIMIT requests that does not refill while the test runs."""
    emu.global_limiter = SlidingWindow(emu.clock, LIMIT, WINDOW)


def _interaction_route(path: str) -> bool:
    return path.startswith(("/interactions/", "/webhooks/"))


async def test_interaction_responses_pass_a_full_global_bucket_and_use_none_of_it(harness):
    emu = harness.emu
    _tight(emu)
    headers = {"Authorization": f"Bot {emu.config.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        # Interactions first, many more than the bucket holds: none of them may count.
        mark = len(emu.requests)
        results = [await emu.invoke("about", settle=0) for _ in range(LIMIT + 3)]
        card = await emu.invoke("quote random", settle=0)
        results += [card, await emu.press(card, "Another", settle=0)]
        choices = await emu.autocomplete("character", {"name": "Ni"}, focused="name")
        assert choices
        assert all(r.answered and not r.errors for r in results), results
        # The bot's own REST calls in the meantime (if any) are the only ones counted.
        counted = [r for r in emu.requests[mark:] if not _interaction_route(r.path)]
        statuses = []
        for _ in range(LIMIT - len(counted) + 1):
            async with http.get(f"{emu.api_base}/users/@me") as resp:
                statuses.append(resp.status)
        assert statuses == [200] * (LIMIT - len(counted)) + [429]

        # Now the bucket is full: a callback, a follow-up and an edit of the original
        # response still go through.
        late = await emu.invoke("about", settle=0)
        assert late.answered and not late.errors
        hook = f"{emu.api_base}/webhooks/{emu.config.application_id}/{late.token}"
        async with http.post(hook, params={"wait": "true"},
                             json={"content": "a follow-up"}) as resp:
            assert resp.status == 200
        async with http.patch(f"{hook}/messages/@original",
                              json={"content": "edited"}) as resp:
            assert resp.status == 200
        async with http.get(f"{emu.api_base}/users/@me") as resp:
            assert resp.status == 429  # while the bot's own REST calls are still refused
    interaction_requests = [r for r in emu.requests[mark:] if _interaction_route(r.path)]
    assert interaction_requests and all(r.status != 429 for r in interaction_requests)
