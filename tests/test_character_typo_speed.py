"""The typo pass's shortcut for finding close words must pick exactly what scoring every word
would: the letter count only skips words that cannot make the cut (speed is measured by the
benchmarks, not asserted here)."""

from __future__ import annotations

import random

from rapidfuzz import fuzz, process

from bot.canon.models import Character, Person
from bot.characters.index import (
    CANDIDATE_WORD_CUTOFF,
    CANDIDATE_WORDS,
    CharacterIndex,
    Match,
    _Vocabulary,
    normalise,
)

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "pa", "ri", "shu", "ten",
              "mar", "lin", "bo", "gra", "fe", "hol", "wen", "ju", "cor", "ael", "dy", "ost")


def scan_all(words: list[str], word: str) -> list[str]:
    """The plain way: score every word."""
    return [close for close, _, _ in process.extract(
        word, words, scorer=fuzz.ratio, processor=None, score_cutoff=CANDIDATE_WORD_CUTOFF,
        limit=CANDIDATE_WORDS)]


def made_up_words(rng: random.Random, count: int) -> list[str]:
    words = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
             for _ in range(count)}
    # Letters beyond a to z, as normalise leaves them: digits, ø, ł, ß folded to ss, kana.
    words |= {"bjørn", "łukasz", "strasse", "2nd", "r2d2", "ゆき", "ø", "x"}
    return sorted(words, key=lambda w: rng.random())


def typos(rng: random.Random, word: str) -> list[str]:
    """One letter dropped, doubled or swapped, as a hurried fan types."""
    i = rng.randrange(len(word))
    out = [word[:i] + word[i + 1:], word[:i] + word[i] + word[i:]]
    if i + 1 < len(word):
        out.append(word[:i] + word[i + 1] + word[i] + word[i + 2:])
    return [w for w in out if w]


def assert_same_as_scanning(words: list[str], typed: list[str]) -> None:
    vocabulary = _Vocabulary(words)
    for word in typed:
        assert list(vocabulary.closest(word)) == scan_all(words, word), word


def test_close_words_match_a_full_scan_in_a_large_vocabulary() -> None:
    rng = random.Random(3)
    words = made_up_words(rng, 8000)  # crowded: most typed words have 30 close ones
    typed = [typo for word in words[::9] for typo in typos(rng, word)]
    typed += [word[:n] for word in words[::50] for n in (1, 2, 3, 5, 8)]
    assert_same_as_scanning(words, typed)


def test_very_short_long_and_unknown_words() -> None:
    rng = random.Random(5)
    words = made_up_words(rng, 2000)
    longest = max(words, key=len)
    typed = [*"abcdefghijklmnopqrstuvwxyz0123456789", "ø", "ゆ", "ss",
             longest + longest, "kalominerusatipashutenmarlinbo" * 2,  # longer than any word
             "qqq", "zzzzzz", "xyz", "aaaaaaa", "anna", "2", "r2d3", "bjorn", "lukasz"]
    assert_same_as_scanning(words, typed)


def test_ties_keep_the_order_of_the_full_scan() -> None:
    """Scoring fewer words must not change which of many equal scores make the cut."""
    tied = [f"abcd{letter}" for letter in "efghijklmnopqrstuvwxyz0123456789"]
    # Many words sharing no letter with the typed ones, so that few are left to score.
    rng = random.Random(9)
    unlike = ["".join(rng.choice("mnoprstuvw") for _ in range(6)) for _ in range(500)]
    words = list(dict.fromkeys(["zzzz", *tied, "qqqq", "abcd", *(w + "y" for w in tied),
                                *unlike]))
    assert_same_as_scanning(words, ["abcd", "abce", "bacd", "abcdz"])
    assert _Vocabulary(words).closest("abcd")[:3] == ("abcd", "abcde", "abcdf")


def test_close_words_when_most_words_could_reach_the_bar() -> None:
    """Words made of the typed word's letters all pass the letter count."""
    rng = random.Random(7)
    letters = list("charlie")
    words = []
    for _ in range(300):
        rng.shuffle(letters)
        words.append("".join(letters[:rng.randint(3, 7)]))
    words = list(dict.fromkeys(words))
    assert_same_as_scanning(words, ["charlie", "charlei", "chalie", "ch", "eilrahc"])


def test_close_words_in_tiny_and_empty_vocabularies() -> None:
    assert _Vocabulary([]).closest("nick") == ()
    assert_same_as_scanning(["nick"], ["nick", "nikc", "n", "zzz"])


def make(i: int, name: str, aliases: tuple[str, ...] = (), actor: str | None = None) -> Character:
    person = Person(1000 + i, None, actor) if actor else None
    return Character(i, None, name, aliases, person, (1,), False, None)


def test_accented_multi_word_typos_are_found_among_many_names() -> None:
    rng = random.Random(11)
    names = list(dict.fromkeys(
        f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)} "
        f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}" for _ in range(3000)))
    index = CharacterIndex([make(i, name.title()) for i, name in enumerate(names)]
                           + [make(9000, "Élodie Martín-Søgaard", ("Lodie",),
                                   actor="Zoë Nuñez")])
    for typed in ("elodie martinsogaard", "Elodei Martín-Søgaard", "élodie martinsøgard",
                  "zoe nunze", "Zöe Nuñez"):
        found, candidates = index.resolve(typed)
        best = found or candidates[0].character
        assert best.id == 9000, typed
    words = list(index._word_texts)
    for typed in ("elodei martinsogaard", "zoe nunze", "lodei", "e m"):
        q = normalise(typed)
        expected = {t for word in dict.fromkeys(q.split(" "))
                    for close in scan_all(words, word) for t in index._word_texts[close]}
        assert index._typo_candidates(q) == expected, typed


def test_resolving_without_the_typo_pass_changes_no_answer() -> None:
    """resolve() skips the typo pass when a name as typed is clearly ahead; every answer must be
    the one the full pass gives."""
    rng = random.Random(13)
    names = list(dict.fromkeys(
        f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)} "
        f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}"
        for _ in range(3000)))
    characters = [make(i, name.title(), actor=f"{rng.choice(names)}" if i % 2 else None)
                  for i, name in enumerate(names)]
    index = CharacterIndex(characters)
    typed: list[str] = []
    for name in rng.sample(names, 400):
        first, last = name.split(" ")
        typed += [name, first, last, name[:len(name) // 2], name[:3], first[:-1],
                  *typos(rng, name), f"{first} {last[:2]}"]
    answers = {text: index._resolve_with_typos(normalise(text)) for text in typed}
    full_passes = 0
    full_pass = index._resolve_with_typos

    def counted(q: str) -> tuple[Character | None, list[Match]]:
        nonlocal full_passes
        full_passes += 1
        return full_pass(q)

    index._resolve_with_typos = counted  # type: ignore[method-assign]
    for text, answer in answers.items():
        assert index.resolve(text) == answer, text
    assert len(answers) - full_passes >= 300  # the shortcut was taken, and often
