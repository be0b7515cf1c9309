"""Installs anywhere: the wheel, installed (not editable) into a fresh virtual environment and run
from a folder that is not the repository, seeds, answers in the playground and serves, with the
seed files it carries and its database in ./data of the current directory, writing nothing into
site-packages.

The fresh environment gets the wheel itself (no dependencies) and sees this environment's
site-packages through a .pth line, for speed and to work offline; every distribution there that
the wheel does not require (pytest, jsonschema, ruff...) is blocked, so a module the bot needs
but does not declare fails here as it would for a user. About 10-20 seconds.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

from emulator import default_config
from emulator.testing import running_emulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_MARK = "ready as "
# pip's words when it cannot fetch setuptools to build with (offline, no cache).
_OFFLINE = re.compile(r"No matching distribution|Could not find a version|NewConnectionError|"
                      r"Temporary failure in name resolution|Network is unreachable", re.I)
_SOURCE_IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                         "__pycache__", ".*_cache", "*.db", "*.db-*", "*.lock",
                                         ".env", "results")


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _runtime_closure(wheel_metadata: str) -> set[str]:
    """The distributions the wheel needs at run time, with theirs (extras left out)."""
    wanted = [r for r in Parser().parsestr(wheel_metadata).get_all("Requires-Dist") or []
              if "extra ==" not in r]
    seen: set[str] = set()
    while wanted:
        name = _name(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # a marker excluded it here (a Windows-only package)
        wanted += [r for r in requires if "extra ==" not in r]
    return seen


def _top_level_names(dist: metadata.Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first == ".." or first.endswith((".dist-info", ".data", ".pth")) \
                or first == "__pycache__":
            continue
        names.add(first.removesuffix(".py") if len(file.parts) == 1 else first)
    return {n for n in names if n.isidentifier()}


def _blocked_modules(allowed: set[str]) -> list[str]:
    """Top-level modules of this environment's distributions the wheel does not require."""
    keep: set[str] = set()
    block: set[str] = set()
    for dist in metadata.distributions():
        name = _name(dist.metadata["Name"] or "")
        if name == "heartstopper-bot":
            continue
        (keep if name in allowed else block).update(_top_level_names(dist))
    return sorted(block - keep)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _run(argv: list[str], cwd: Path, env: dict[str, str], **kwargs: object
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)  # type: ignore[call-overload]


class Installed:
    def __init__(self, venv: Path, site: Path, workdir: Path, env: dict[str, str]) -> None:
        self.venv, self.site, self.workdir, self.env = venv, site, workdir, env
        self.python = venv / "bin" / "python"
        self.script = venv / "bin" / "heartstopper-bot"

    def cli(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return _run([str(self.script), *args], self.workdir, {**self.env, **extra_env})


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if os.name != "posix":
        pytest.skip("the install test drives a POSIX virtual environment (bin/)")
    root = tmp_path_factory.mktemp("install")
    # Built from a copy, so the build never writes build/ or *.egg-info into the checkout that
    # other test runs are using.
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=_SOURCE_IGNORED)
    dist = root / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                  "--disable-pip-version-check", "-w", str(dist), str(source)], root,
                 dict(os.environ))
    if built.returncode != 0:
        if _OFFLINE.search(built.stderr + built.stdout):
            pytest.skip("cannot build the wheel: pip could not fetch the build backend "
                        f"(setuptools>=68) from an index: {built.stderr.strip()[-300:]}")
        pytest.fail(f"building the wheel failed:\n{built.stdout}\n{built.stderr}")
    [wheel] = dist.glob("heartstopper_bot-*.whl")

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root,
                dict(os.environ))
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {made.stderr.strip()[-300:]}")
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        text=True).strip())
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                 "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)], root,
                dict(os.environ))
    assert done.returncode == 0, done.stderr

    wheel_metadata = next(site.glob("heartstopper_bot-*.dist-info")).joinpath(
        "METADATA").read_text(encoding="utf-8")
    blocked = _blocked_modules(_runtime_closure(wheel_metadata))
    assert "jsonschema" in blocked and "pytest" in blocked
    # .pth files: a path line adds this environment's site-packages after the fresh one's
    # (its own .pth files, the editable install's among them, are not run); an import line
    # makes what the wheel does not require unimportable.
    (site / "_outer_site.pth").write_text(sysconfig.get_path("purelib") + "\n")
    (site / "_not_required.pth").write_text(
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n")

    workdir = root / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
               HOME=str(root / "home"), PYTHONNOUSERSITE="1", PYTHONUNBUFFERED="1",
               DISCORD_TOKEN="")
    yield Installed(venv, site, workdir, env)


def test_the_wheel_holds_every_package_and_the_seed_files(installed: Installed) -> None:
    for init in sorted(PROJECT_ROOT.glob("*/**/__init__.py")):
        package = init.parent.relative_to(PROJECT_ROOT)
        if package.parts[0] in ("bot", "cogs", "emulator"):
            assert (installed.site / package / "__init__.py").is_file(), (
                f"{'.'.join(package.parts)} is missing from the wheel: add it to "
                "[tool.setuptools] packages in pyproject.toml")
    shipped = {p.name for p in (installed.site / "heartstopper_seed").glob("*.json")}
    assert shipped == {p.name for p in (PROJECT_ROOT / "data").glob("*.json")}
    assert sorted((installed.site / "bot" / "migrations").glob("*.sql"))
    probe = _run([str(installed.python), "-c", "import bot, jsonschema"], installed.workdir,
                 installed.env)
    assert "ModuleNotFoundError: import of jsonschema halted" in probe.stderr  # not required
    probe = _run([str(installed.python), "-c", "import bot; print(bot.__file__)"],
                 installed.workdir, installed.env)
    assert probe.stdout.strip() == str(installed.site / "bot" / "__init__.py"), probe.stderr


async def test_installed_bot_seeds_plays_and_serves_from_another_folder(
        installed: Installed) -> None:
    before = _files(installed.venv)
    database = installed.workdir / "data" / "heartstopper.db"

    for argv in ([str(installed.script), "--help"], [str(installed.python), "-m", "bot", "--help"]):
        shown = _run(argv, installed.workdir, installed.env)
        assert shown.returncode == 0 and "usage: heartstopper-bot" in shown.stdout, shown.stderr

    seeded = installed.cli("db", "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("seeded: ") and "characters" in seeded.stdout
    assert database.is_file()

    stats = installed.cli("db", "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.startswith(f"database: {Path('data') / 'heartstopper.db'}\n")

    # SEED_DIR still overrides the packaged files, with a one-line error when it is wrong.
    wrong = installed.cli("db", "seed", SEED_DIR=str(installed.workdir / "nowhere"))
    assert wrong.returncode == 2
    assert [line for line in wrong.stderr.splitlines() if line.strip()] == [
        f"heartstopper-bot: the seed folder {installed.workdir / 'nowhere'} does not exist. "
        "Point SEED_DIR at the folder holding sources.json, people.json and the other seed "
        "files, or unset it to use the ones that came with the bot."]

    script = installed.workdir / "lines.txt"
    script.write_text("/about\n/character name:Charlie\n", encoding="utf-8")
    played = installed.cli("playground", "--script", str(script))
    assert played.returncode == 0, played.stderr
    assert "│ Heartstopper bot" in played.stdout and "Played by: Joe Locke" in played.stdout
    assert "Traceback" not in played.stderr

    async with running_emulator(default_config()) as emu:
        env = {**installed.env, "DISCORD_TOKEN": emu.config.token,
               "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
               "LOG_LEVEL": "INFO"}
        proc = await asyncio.create_subprocess_exec(
            str(installed.script), "run", cwd=installed.workdir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        assert proc.stderr is not None
        lines: list[str] = []
        try:
            async with asyncio.timeout(90):
                while not any(READY_MARK in line for line in lines):
                    raw = await proc.stderr.readline()
                    assert raw, f"the bot exited before {READY_MARK!r}: {lines[-8:]}"
                    lines.append(raw.decode("utf-8", "replace").rstrip())
            assert (installed.workdir / "data" / "heartstopper.db.lock").exists()
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, lines[-8:]
        log = "\n".join(lines) + "\n" + (rest or b"").decode("utf-8", "replace")
        assert "Traceback" not in log, log

    # Everything the bot wrote is in ./data of the folder it ran in; nothing in site-packages.
    assert _files(installed.venv) == before
    written = {p.name for p in (installed.workdir / "data").iterdir()}
    assert "heartstopper.db" in written
    assert not (installed.site / "data").exists()
