"""The playground end to end: the real bot on a temp database behind the emulator, driven by
scripts, piped stdin, the CLI and Tab completion, read back as a transcript."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cli import main
from bot.core.config import PROJECT_ROOT, Settings
from bot.playground import run_playground
from bot.playground.repl import Completer
from bot.playground.session import Session
from tests.conftest import Harness


async def transcript(settings: Settings, tmp_path: Path, *lines: str) -> tuple[int, str]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = await run_playground(settings, script=script, out=out)
    return code, out.getvalue()


def block(text: str, line: str) -> str:
    """What the transcript shows for one command line (up to the next prompt)."""
    after = text.split(f"owner> {line}\n", 1)[1]
    return after.split("\nowner> ", 1)[0]


async def test_character_charlie_answers_with_joe_locke(settings: Settings,
                                                        tmp_path: Path) -> None:
    code, text = await transcript(settings, tmp_path, "/character name:Charlie")
    assert code == 0
    reply = block(text, "/character name:Charlie")
    assert "│ Charlie Spring" in reply
    assert "Played by: Joe Locke" in reply
    assert "\x1b[" not in text  # plain text for scripts


async def test_about_card_and_who_can_see_it(settings: Settings, tmp_path: Path) -> None:
    code, text = await transcript(settings, tmp_path, "# first a card", "/about")
    assert code == 0
    assert text.startswith("# first a card\nowner> /about\n(only you can see this)\n")
    assert "│ Heartstopper bot" in text


async def test_buttons_are_pressed_by_label(settings: Settings, tmp_path: Path) -> None:
    code, text = await transcript(settings, tmp_path,
                                  "/characters season:3", "Next", "[previous]")
    assert code == 0
    first = block(text, "/characters season:3")
    assert "[Previous (disabled)] [Next]" in first
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in block(text, "Next")
    assert "Page 1 of 2" in block(text, "[previous]")


async def test_question_mark_lists_what_fits(settings: Settings, tmp_path: Path) -> None:
    code, text = await transcript(settings, tmp_path, "/character name:ki?",
                                  "/quote random ?", "/news subscribe channel:?")
    assert code == 0
    assert "  Nick Nelson (Kit Connor)" in block(text, "/character name:ki?").splitlines()
    options = block(text, "/quote random ?")
    assert "person:" in options and "season:" in options
    assert block(text, "/news subscribe channel:?").split() == ["general", "announcements"]


async def test_bad_lines_print_one_line_and_the_session_goes_on(settings: Settings,
                                                                tmp_path: Path) -> None:
    bad = ["/frobnicate", "/character nme:Charlie", "/characters season:two",
           "hello there", "[Nope]", "/spoilers as:member", "as nobody"]
    code, text = await transcript(settings, tmp_path, *bad, "/about")
    assert code == 1  # a script with failing lines fails, so docs stay honest
    for line in bad:
        shown = block(text, line).strip().splitlines()
        assert len(shown) == 1 and shown[0].startswith("error: "), (line, shown)
    assert "did you mean name?" in block(text, "/character nme:Charlie")
    assert "Traceback" not in text
    assert "│ Heartstopper bot" in block(text, "/about")


async def test_commands_run_as_the_owner_or_whoever_is_named(settings: Settings,
                                                             tmp_path: Path) -> None:
    code, text = await transcript(settings, tmp_path, "/spoilers season:1", "as member",
                                  "/spoilers", "as moderator", "/spoilers")
    assert "error" not in block(text, "/spoilers season:1")
    assert "member> /spoilers\nerror: 'member' cannot see /spoilers" in text
    assert "moderator> /spoilers\n(only you can see this)" in text
    assert code == 1


async def test_piped_stdin_is_read_without_readline_until_quit(settings: Settings) -> None:
    out = io.StringIO()
    stdin = io.StringIO("/about\nquit\n/character name:Charlie\n")
    assert await run_playground(settings, stdin=stdin, out=out) == 0
    assert "owner> /about\n" in out.getvalue()
    assert "Joe Locke" not in out.getvalue()


def test_cli_playground_script_exit_codes(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_PATH={tmp_path / 'bot.db'}\n")
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("/about\n")
    bad.write_text("/about\n/nope\n")
    assert main(["--env-file", str(env), "playground", "--script", str(good)]) == 0
    assert "│ Heartstopper bot" in capsys.readouterr().out
    assert main(["--env-file", str(env), "playground", "--script", str(bad)]) == 1
    assert main(["--env-file", str(env), "playground", "--script", str(tmp_path / "no")]) == 2
    assert "cannot read the script" in capsys.readouterr().err


def test_run_without_a_token_opens_the_playground(tmp_path: Path) -> None:
    empty_env = tmp_path / "empty.env"  # never the developer's real .env
    empty_env.write_text("")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DISCORD_", "DEV_GUILD", "OWNER_IDS", "LOG_LEVEL", "SEED_DIR"))}
    env.update(DISCORD_TOKEN="", DATABASE_PATH=str(tmp_path / "fresh.db"))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(empty_env), "run",
         "--playground-without-token"],
        input="/about\n/character name:Charlie\nquit\n", capture_output=True, text=True,
        cwd=PROJECT_ROOT, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("\n", 1)
    assert "No DISCORD_TOKEN set" in first and "To connect to real Discord" in first
    assert "owner> /about\n(only you can see this)\n│ Heartstopper bot" in rest
    assert "Played by: Joe Locke" in rest
    assert "Traceback" not in done.stderr
    assert (tmp_path / "fresh.db").is_file()


# ---- the session on the shared harness: posts, forms, Tab ---------------------------------------

async def test_posts_the_bot_makes_on_its_own_are_printed_once(harness: Harness) -> None:
    out = io.StringIO()
    session = Session(harness.emu, out)
    await harness.bot.get_channel(harness.channel_id("announcements")).send(
        "Season 4 ||is coming||")
    session.poll()
    session.poll()
    assert out.getvalue() == ("#announcements · EmulatedBot:\n"
                              "Season 4 [spoiler: is coming]\n\n")


async def test_a_form_is_filled_in_on_the_next_line(harness: Harness) -> None:
    out = io.StringIO()
    session = Session(harness.emu, out, user="member")
    await session.handle('/quote submit text:"We are who we are." speaker:Alice Oseman')
    session.user = "owner"
    await session.handle("/quote review")
    await session.handle("Reject")
    await session.handle("help")  # looking something up leaves the form open
    assert session.prompt == "form> "
    await session.handle('reason:"Not in the cited interview"')
    text = out.getvalue()
    assert "form: Reject submission" in text
    assert "error" not in text, text
    assert session.prompt == "owner> "
    assert session.failures == 0


async def test_tab_completes_the_value_after_the_last_colon(harness: Harness) -> None:
    line = "/character name:Kit Con"
    fake_readline = SimpleNamespace(get_line_buffer=lambda: line, get_endidx=lambda: len(line),
                                    get_begidx=lambda: line.index(":") + 1)
    session = Session(harness.emu, io.StringIO())
    completer = Completer(session, asyncio.get_running_loop(), fake_readline, lambda: "> ")
    first = await asyncio.to_thread(completer.complete, "Kit Con", 0)
    assert first == "Nick Nelson"
    assert "Nick Nelson (Kit Connor)" in completer.labels[first]
