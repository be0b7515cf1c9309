"""British and American spellings of the same word, so `/quote search` finds either way of
writing it: `favourite` finds "favorite" and `color` finds "colour".

The cast and creator are mostly British and the outlets a mix, so a fan typing in one spelling
would otherwise miss quotes written in the other. The list holds the regular patterns (-our/-or,
-ise/-ize, -yse/-yze, -re/-er, -ogue/-og, -ence/-ense, doubled l) over words that come up in
interviews, with their usual endings, and a few one-offs (grey/gray, mum/mom); words spelt the
same either way (advertise, surprise, promise) are not in it. Only whole words are looked up:
the words as the search index holds them (lower case, accents removed).
"""

from __future__ import annotations

import functools

# -our (British) / -or (American), with the endings these stems take.
_OUR = ("colour", "favour", "honour", "humour", "neighbour", "behaviour", "flavour", "labour",
        "rumour", "harbour", "armour", "savour", "parlour", "endeavour", "vigour",
        "odour", "candour", "splendour", "valour", "saviour", "tumour")
_OUR_ENDINGS = ("", "s", "ed", "ing", "ful", "fully", "less", "ite", "ites", "itism", "able",
                "ably", "hood", "hoods", "er", "ers", "ist", "ists", "al")
# -ise / -ize stems (British usage has both; either finds the other).
_ISE = ("real", "recogn", "apolog", "organ", "critic", "emphas", "memor", "priorit",
        "romantic", "sympath", "fantas", "idol", "social", "final", "visual", "character",
        "normal", "summar", "special", "author", "minim", "maxim", "optim", "categor",
        "sexual", "glamor", "drama", "stereotyp", "theor", "symbol", "modern", "popular",
        "legal", "human", "public", "vandal", "civil", "author", "familiar", "energ",
        "agon", "patron", "scrutin", "mobil", "util", "global", "stabil", "capital")
_ISE_ENDINGS = (("ise", "ize"), ("ised", "ized"), ("ises", "izes"), ("ising", "izing"),
                ("isation", "ization"), ("isations", "izations"), ("iser", "izer"),
                ("isers", "izers"))
_YSE = ("anal", "paral", "catal")
_YSE_ENDINGS = (("yse", "yze"), ("ysed", "yzed"), ("yses", "yzes"), ("ysing", "yzing"))
# -re / -er
_RE = ("centre", "theatre", "metre", "fibre", "litre", "calibre", "sombre", "spectre",
       "lustre", "meagre", "sabre")
_RE_ENDINGS = (("", ""), ("s", "s"), ("d", "ed"))
_OTHERS = (
    ("catalogue", "catalog"), ("catalogues", "catalogs"), ("dialogue", "dialog"),
    ("dialogues", "dialogs"), ("monologue", "monolog"), ("monologues", "monologs"),
    ("defence", "defense"), ("offence", "offense"), ("offences", "offenses"),
    ("licence", "license"), ("pretence", "pretense"),
    ("travelled", "traveled"), ("travelling", "traveling"), ("traveller", "traveler"),
    ("travellers", "travelers"), ("cancelled", "canceled"), ("cancelling", "canceling"),
    ("modelling", "modeling"), ("modelled", "modeled"), ("labelled", "labeled"),
    ("fuelled", "fueled"), ("counsellor", "counselor"), ("counselling", "counseling"),
    ("jewellery", "jewelry"), ("marvellous", "marvelous"), ("woollen", "woolen"),
    ("fulfil", "fulfill"), ("fulfilment", "fulfillment"), ("enrol", "enroll"),
    ("enrolment", "enrollment"), ("skilful", "skillful"), ("wilful", "willful"),
    ("grey", "gray"), ("greys", "grays"), ("mum", "mom"), ("mums", "moms"),
    ("mummy", "mommy"), ("programme", "program"), ("programmes", "programs"),
    ("pyjamas", "pajamas"), ("sceptical", "skeptical"), ("sceptic", "skeptic"),
    ("mould", "mold"), ("moult", "molt"), ("plough", "plow"), ("manoeuvre", "maneuver"),
    ("ageing", "aging"), ("judgement", "judgment"), ("judgements", "judgments"),
    ("aeroplane", "airplane"), ("aluminium", "aluminum"), ("cheque", "check"),
    ("tyre", "tire"), ("storey", "story"), ("practise", "practice"),
    ("practised", "practiced"), ("practising", "practicing"), ("analogue", "analog"),
    ("oestrogen", "estrogen"), ("paediatric", "pediatric"), ("encyclopaedia", "encyclopedia"),
    ("learnt", "learned"), ("spelt", "spelled"), ("dreamt", "dreamed"),
)
# Pairs left out on purpose: each side is also a different everyday word, so searching one for
# the other would mostly find the wrong thing.
_NOT_SWAPPED = frozenset({("cheque", "check"), ("tyre", "tire"), ("storey", "story"),
                          ("practise", "practice"), ("practised", "practiced"),
                          ("practising", "practicing"), ("learnt", "learned"),
                          ("dreamt", "dreamed"), ("spelt", "spelled")})


def _pairs() -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for word in _OUR:
        stem = word[:-2]  # "colo" + "ur" / "r"
        pairs += [(f"{stem}ur{e}", f"{stem}r{e}") for e in _OUR_ENDINGS]
    for stem in dict.fromkeys(_ISE):
        pairs += [(stem + british, stem + american) for british, american in _ISE_ENDINGS]
    for stem in _YSE:
        pairs += [(stem + british, stem + american) for british, american in _YSE_ENDINGS]
    for word in _RE:
        pairs += [(f"{word[:-2]}re{british}", f"{word[:-2]}er{american}")
                  for british, american in _RE_ENDINGS]
    pairs += [p for p in _OTHERS if p not in _NOT_SWAPPED]
    return pairs


@functools.cache
def _table() -> dict[str, tuple[str, str]]:
    """word -> (its British spelling, its American spelling), for both spellings."""
    table: dict[str, tuple[str, str]] = {}
    for british, american in _pairs():
        if british == american:
            continue
        table.setdefault(british, (british, american))
        table.setdefault(american, (british, american))
    return table


def spellings(word: str) -> tuple[str, str] | None:
    """(British, American) for a word (as the index holds it) spelt differently in each."""
    return _table().get(word)


def variants(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`tokens` as typed, then all in British and all in American spelling, where those differ
    (a phrase is written in one spelling or the other, not a mix)."""
    found = [tokens]
    for side in (0, 1):
        spelt = tuple((spellings(t) or (t, t))[side] for t in tokens)
        if spelt not in found:
            found.append(spelt)
    return found
