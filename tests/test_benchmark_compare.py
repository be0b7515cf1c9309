"""benchmarks/compare.py: two revisions of the bot, each run from its own unpacked tree, take
turns under the burst. Tiny sizes; no time or rate is asserted (they depend on the machine)."""

from pathlib import Path

import pytest

from benchmarks.burst import Layout
from benchmarks.compare import CompareError, Sizes, compare, main, table, unpack

TINY = Sizes(characters=40, quotes=200, layout=Layout(guilds=3, channels_per_guild=2,
                                                      fans_per_guild=4))


async def test_two_revisions_take_turns_each_from_its_own_tree(tmp_path: Path) -> None:
    result = await compare(["HEAD", "."], rates=[15.0], seconds=2.0, refine=False, sizes=TINY,
                           work_dir=tmp_path, echo=lambda line: None)
    assert set(result) == {"1:HEAD", "2:."}
    for name, revision in result.items():
        [step] = revision["steps"]
        assert step["answered"] > 0, name
        assert step["failures"] == 0 and step["late"] == 0, name
        assert step["cpu_ms_per_interaction"] > 0, name
    # Each bot ran from its own unpacked copy, not from the project folder: Python compiled
    # the modules it imported there.
    for tree in ("tree-0", "tree-1"):
        assert list((tmp_path / tree / "bot" / "__pycache__").glob("cli.*.pyc")), tree
        assert list((tmp_path / tree / "cogs" / "__pycache__").glob("quotes.*.pyc")), tree
    assert "1:HEAD" in table(result) and "capacity" in table(result)


def test_a_revision_git_does_not_know_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CompareError, match="no-such-revision"):
        unpack("no-such-revision", tmp_path / "tree")
    assert main(["no-such-revision", "."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("compare: cannot unpack 'no-such-revision'") and err.count("\n") == 1
    assert main(["HEAD"]) == 2
    assert "two revisions or more" in capsys.readouterr().err
    assert main(["HEAD", ".", "--rates", "0,100"]) == 2
    assert "--rates must be rates above 0" in capsys.readouterr().err
    assert main(["HEAD", ".", "--seconds", "0"]) == 2
    assert "--seconds must be above 0" in capsys.readouterr().err
