"""The playground's command-line syntax and suggestions, on crafted command definitions (the
shape Discord stores after a sync)."""

import pytest

from bot.playground.parse import (
    Ask,
    Empty,
    Invoke,
    LineError,
    Meta,
    Press,
    SwitchUser,
    format_value,
    parse_line,
    split_options,
)
from bot.playground.suggest import Directory, suggest

COMMANDS = [
    {"name": "about", "type": 1, "description": "What the bot knows", "options": []},
    {"name": "character", "type": 1, "description": "Who a character is", "options": [
        {"type": 3, "name": "name", "description": "A name", "required": True,
         "autocomplete": True},
    ]},
    {"name": "characters", "type": 1, "description": "Every character", "options": [
        {"type": 4, "name": "season", "description": "A season", "min_value": 1,
         "max_value": 9},
    ]},
    {"name": "quote", "type": 1, "description": "Quotes", "options": [
        {"type": 1, "name": "random", "description": "A random quote", "options": [
            {"type": 3, "name": "person", "description": "By this person", "autocomplete": True},
            {"type": 3, "name": "character", "description": "About this character"},
            {"type": 4, "name": "season", "description": "About this season"},
        ]},
        {"type": 2, "name": "daily", "description": "Quote of the day", "options": [
            {"type": 1, "name": "set", "description": "Post daily", "options": [
                {"type": 7, "name": "channel", "description": "Where", "required": True},
                {"type": 5, "name": "ping", "description": "Ping?"},
                {"type": 3, "name": "mood", "description": "Tone", "choices": [
                    {"name": "Happy days", "value": "happy"},
                    {"name": "Sad days", "value": "sad"}]},
            ]},
        ]},
    ]},
]


def invoke(line: str) -> Invoke:
    parsed = parse_line(line, COMMANDS)
    assert isinstance(parsed, Invoke), parsed
    return parsed


def error(line: str) -> str:
    with pytest.raises(LineError) as caught:
        parse_line(line, COMMANDS)
    return str(caught.value)


def test_values_run_until_the_next_known_option() -> None:
    parsed = invoke("/quote random person:Kit Connor season:2")
    assert parsed == Invoke("quote random", {"person": "Kit Connor", "season": 2})


def test_a_known_option_word_inside_a_value_needs_quotes() -> None:
    parsed = invoke('/quote random character:"Nick person:Charlie" person:Alice')
    assert parsed.options == {"character": "Nick person:Charlie", "person": "Alice"}
    assert invoke(r'/character name:"say \"hi\""').options == {"name": 'say "hi"'}
    assert "never closed" in error('/character name:"Nick')


def test_colons_that_are_not_options_stay_in_the_value() -> None:
    parsed = invoke("/quote random character:Nick said: hi")
    assert parsed.options == {"character": "Nick said: hi"}


def test_subcommand_groups_and_typed_values() -> None:
    parsed = invoke("/quote daily set channel:#general ping:yes mood:happy days")
    assert parsed == Invoke("quote daily set", {"channel": "general", "ping": True,
                                                "mood": "happy"})
    assert invoke("/quote daily set channel:general mood:SAD").options["mood"] == "sad"


@pytest.mark.parametrize(("line", "expected"), [
    ("/frobnicate", "unknown command /frobnicate"),
    ("/charactr name:Nick", "did you mean character?"),
    ("/quote", "/quote needs one of: random, daily"),
    ("/quote randm", "did you mean random?"),
    ("/character", "/character needs name:"),
    ("/character nme:Charlie", "has no option 'nme' (did you mean name?)"),
    ("/character Charlie", "'Charlie' is not an option of /character"),
    ("/about now", "/about takes no options"),
    ("/quote random person:Kit sesaon:2", "has no option 'sesaon' (did you mean season?)"),
    ("/characters season:two", "season: expected a whole number, got 'two'"),
    ("/quote daily set channel:general ping:maybe", "ping: expected true or false"),
    ("/quote daily set channel:general mood:angry", "'angry' is not one of the choices"),
    ("/characters season:1 season:2", "season: given twice"),
    ("/", "type a command after the slash"),
])
def test_bad_lines_say_what_is_wrong(line: str, expected: str) -> None:
    assert expected in error(line)


def test_as_runs_one_line_as_someone_else() -> None:
    assert invoke("/characters season:1 as:moderator") == Invoke("characters", {"season": 1},
                                                                 "moderator")
    assert parse_line("as member", COMMANDS) == SwitchUser("member")
    assert parse_line("/as @member", COMMANDS) == SwitchUser("member")


def test_other_kinds_of_line() -> None:
    assert parse_line("/character name:ki?", COMMANDS) == Ask("/character name:ki")
    assert parse_line("[Next]", COMMANDS) == Press("Next", bracketed=True)
    assert parse_line("  next ", COMMANDS) == Press("next", bracketed=False)
    assert parse_line("help", COMMANDS) == Meta("help")
    assert parse_line("?", COMMANDS) == Meta("help")
    assert parse_line("EXIT", COMMANDS) == Meta("quit")
    assert parse_line("   ", COMMANDS) == Empty()
    assert parse_line("# a comment", COMMANDS) == Empty()


@pytest.mark.parametrize("value", ["plain", "two words", "ends?", ' spaced ', 'a "quote"',
                                   "back\\slash", "x person:y", "'single"])
def test_format_value_reads_back_as_itself(value: str) -> None:
    names = ["person", "season"]
    typed = "person:" + format_value(value, names) + " season:2"
    split = split_options(typed, names)
    assert [(o.name, o.value) for o in split.options] == [("person", value), ("season", "2")]


# ---- suggestions --------------------------------------------------------------------------------

def lines(found) -> list[str]:
    return [c.line for c in found.candidates]


def test_suggests_commands_subcommands_and_options() -> None:
    assert lines(suggest("/cha", COMMANDS)) == ["/character ", "/characters "]
    assert lines(suggest("/quote ", COMMANDS)) == ["/quote random ", "/quote daily "]
    assert lines(suggest("/quote random ", COMMANDS)) == [
        "/quote random person:", "/quote random character:", "/quote random season:"]
    assert lines(suggest("/quote random season:2 ", COMMANDS)) == [
        "/quote random season:2 person:", "/quote random season:2 character:"]
    assert lines(suggest("/quote random person:Kit Connor s", COMMANDS)) == [
        "/quote random person:Kit Connor season:"]
    assert suggest("/nope ", COMMANDS).note == "unknown command /nope"
    assert "takes no options" in (suggest("/about ", COMMANDS).note or "")


def test_autocomplete_is_left_to_the_bot_with_the_other_options() -> None:
    found = suggest("/quote random season:2 person:Kit C", COMMANDS)
    ask = found.ask_bot
    assert ask is not None
    assert (ask.command, ask.focused, ask.partial, ask.options) == (
        "quote random", "person", "Kit C", {"season": 2})
    taken = ask.candidates([{"name": "Kit Connor (actor)", "value": "Kit Connor"}])
    assert [(c.line, c.label) for c in taken] == [
        ("/quote random season:2 person:Kit Connor", "Kit Connor (actor)")]


def test_values_from_choices_booleans_and_the_server() -> None:
    base = "/quote daily set channel:"
    server = Directory(channels=("general", "announcements"), users=("owner",), roles=())
    assert lines(suggest(base + "an", COMMANDS, server)) == [base + "announcements"]
    assert lines(suggest(base + "general mood:sad", COMMANDS, server)) == [
        base + "general mood:sad"]
    assert [c.label for c in suggest(base + "general mood:", COMMANDS).candidates] == [
        "Happy days", "Sad days"]
    assert lines(suggest(base + "general ping:t", COMMANDS)) == [base + "general ping:true"]
    note = suggest("/quote random season:", COMMANDS).note
    assert note == "season: About this season (whole number, optional)"
