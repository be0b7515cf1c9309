"""The deploy files agree with the bot and with each other: the systemd unit passes
`systemd-analyze verify` (where systemd is installed) and keeps its promises (dedicated user,
restart on failure, graceful SIGTERM stop, hardening); the Dockerfile installs the wheel the way
tests/test_install.py proves it works, runs as a non-root user with the database on a volume,
and checks /healthz on the metrics port that compose.yaml publishes. No image is built here
(this machine cannot pull base images)."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from bot.core.config import parse_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "heartstopper-bot.service"
SLICES = DEPLOY / "heartstopper-bot@.service"  # the template: one process per shard slice
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
SCRIPT = next(iter(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]))


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_the_systemd_unit_keeps_its_promises() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["User"] and service["User"] != "root"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a bad setting: restarting cannot help
    assert service["EnvironmentFile"].startswith("/etc/")
    # The graceful stop is the bot's own SIGTERM handler: no ExecStop to get in its way.
    assert "ExecStop" not in service and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > 5  # the bot's drain deadline
    exec_start = service["ExecStart"].split()
    assert exec_start[0].endswith(f"/bin/{SCRIPT}") and exec_start[-1] == "run"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes"}.items():
        assert service[key] == value, key
    # The database is in the only folder it may write (ProtectSystem=strict).
    state = f"/var/lib/{service['StateDirectory']}/"
    [database] = re.findall(r"^Environment=DATABASE_PATH=(\S+)$", UNIT.read_text(), re.M)
    assert database.startswith(state)
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def _verify(unit: Path, tmp_path: Path, instance: str | None = None) -> None:
    """`systemd-analyze verify` of a copy of `unit` (of one instance, for a template) whose
    ExecStart is this checkout's script: the installed path does not exist on a test machine."""
    script = shutil.which(SCRIPT) or str(ROOT / ".venv" / "bin" / SCRIPT)
    if not Path(script).exists():
        pytest.skip(f"{SCRIPT} is not installed here")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(f"/opt/heartstopper-bot/bin/{SCRIPT}", script))
    if instance is not None:
        named = tmp_path / unit.name.replace("@", f"@{instance}")
        named.symlink_to(copy)
        copy = named
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                          text=True, timeout=60, check=False)
    stem = unit.name.split("@")[0].removesuffix(".service")
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if stem in line or "Unknown" in line or "Invalid" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    _verify(UNIT, tmp_path)


def _settings_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_slice_template_is_the_unit_with_only_the_slice_added() -> None:
    """Hardening, restart and stop rules cannot drift apart between the two units."""
    unit, slices = _settings_lines(UNIT), _settings_lines(SLICES)
    added = [line for line in slices if line not in unit]
    assert [line for line in unit if line not in slices] == ["Description=Heartstopper Discord bot"]
    assert added == ["Description=Heartstopper Discord bot, shards %i",
                     "EnvironmentFile=-/etc/heartstopper-bot@%i.env",
                     "Environment=SHARD_IDS=%i"]
    # The slice's environment comes after the shared file (read in order, later wins).
    assert slices.index("EnvironmentFile=-/etc/heartstopper-bot@%i.env") == \
        slices.index("EnvironmentFile=/etc/heartstopper-bot.env") + 1


# The characters systemd allows in a unit's name (systemd.unit(5)); %i passes the instance on
# as written.
UNIT_NAME_CHARS = re.compile(r"[A-Za-z0-9:_.\\-]+")


@pytest.mark.parametrize("instance", ["0-1", "2", "4-5"])
def test_an_instance_name_is_a_slice_the_bot_accepts(instance: str) -> None:
    assert UNIT_NAME_CHARS.fullmatch(instance)
    settings = parse_settings({"SHARD_COUNT": "6", "SHARD_IDS": instance})
    assert settings.shard_ids and max(settings.shard_ids) < 6


def test_a_slice_with_a_comma_cannot_be_an_instance_name() -> None:
    assert not UNIT_NAME_CHARS.fullmatch("2,3")
    assert "one range or one shard" in SLICES.read_text()  # and so the unit says


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_verifies_an_instance_of_the_template(tmp_path: Path) -> None:
    _verify(SLICES, tmp_path, instance="0-1")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_dockerfile_installs_the_wheel_as_the_install_test_does() -> None:
    steps = _instructions()
    [base] = [arg for op, arg in steps if op == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python.startswith(">=3.11")
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    # The built wheel, the artifact tests/test_install.py installs and runs from elsewhere.
    wheel = re.search(r"pip install (\S*dist/(heartstopper_bot-\*\.whl))", runs)
    assert wheel, runs
    assert wheel.group(2) in (ROOT / "tests" / "test_install.py").read_text()
    assert "dist/" in dict(steps)["COPY"]
    user = [arg for op, arg in steps if op == "USER"]
    assert user and user[-1] not in ("root", "0")
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(arg for op, arg in steps if op == "ENV")))
    assert env["DATABASE_PATH"].startswith("/data/")
    assert env["BACKUP_DIR"].startswith("/data/")
    assert json.loads(dict(steps)["VOLUME"]) == ["/data"]
    port = env["METRICS_PORT"]
    assert dict(steps)["EXPOSE"] == port
    # Every setting the image sets is one the bot reads, with a value it accepts.
    settings = parse_settings({k: v for k, v in env.items()
                               if not k.startswith(("PYTHON", "PIP_"))})
    assert settings.metrics_port == int(port) and settings.metrics_host == "0.0.0.0"
    health = dict(steps)["HEALTHCHECK"]
    command = json.loads(health.split("CMD", 1)[1])
    assert f"127.0.0.1:{port}/healthz" in command[-1]
    compile(command[-1], "healthcheck", "exec")
    assert json.loads(dict(steps)["ENTRYPOINT"])[0] == SCRIPT
    assert json.loads(dict(steps)["CMD"]) == ["run"]
    assert dict(steps)["STOPSIGNAL"] == "SIGTERM"


def test_compose_matches_the_dockerfile() -> None:
    text = COMPOSE.read_text()
    assert re.search(r"dockerfile:\s*deploy/Dockerfile", text)
    assert re.search(r"context:\s*\.\.\s*$", text, re.M)
    assert re.search(r"-\s*bot-data:/data\s*$", text, re.M)
    port = re.search(r'METRICS_PORT:\s*"(\d+)"', text)
    assert port and port.group(1) == "8080"
    assert re.search(rf'"127\.0\.0\.1:\d+:{port.group(1)}"', text)  # loopback only
    [test] = re.findall(r"test:\s*(\[.*\])", text)
    command = json.loads(test)
    assert f"127.0.0.1:{port.group(1)}/healthz" in command[-1]
    compile(command[-1], "healthcheck", "exec")
    assert re.search(r"stop_signal:\s*SIGTERM", text)
    assert re.search(r"DATABASE_PATH:\s*/data/", text)
    assert "no-new-privileges:true" in text


def test_the_health_endpoint_exists() -> None:
    assert '"/healthz"' in (ROOT / "bot" / "core" / "health_server.py").read_text()
