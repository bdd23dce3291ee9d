"""The shared deployment of `deploy/` (compose file, image, proxy), checked without Docker: Redis
keeps the world with its append-only file on a volume, every replica joins the same world with
a command line the emulator accepts, and the control token comes from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from emulator.cli import parse_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_redis_keeps_the_world_with_its_append_only_file_on_a_volume():
    redis = compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    volume, target = redis["volumes"][0].split(":")[:2]
    assert target == "/data" and volume in compose()["volumes"]


def test_every_replica_joins_one_world_with_a_command_line_the_emulator_takes():
    emulator = compose()["services"]["emulator"]
    assert emulator["deploy"]["replicas"] >= 2
    command = emulator["command"]
    assert command[0] == "telco-emulator"
    settings = parse_settings(command[1:])
    assert settings.host == "0.0.0.0"
    assert settings.store == "redis://redis:6379/0"
    assert emulator["depends_on"]["redis"]["condition"] == "service_healthy"
    assert emulator["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert "pip install --no-cache-dir ." in (DEPLOY.parent / "Dockerfile").read_text()


def test_the_control_token_is_required_from_the_environment():
    environment = compose()["services"]["emulator"]["environment"]
    assert re.fullmatch(r"\$\{TELCO_EMULATOR_CONTROL_TOKEN:\?.+\}", environment["TELCO_EMULATOR_CONTROL_TOKEN"])


def test_one_published_port_in_front_of_the_replicas():
    services = compose()["services"]
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert list(published) == ["proxy"] and len(published["proxy"]) == 1
    config = (DEPLOY / "nginx.conf").read_text()
    assert "server emulator:8046 resolve;" in config
    assert "proxy_buffering off;" in config  # the event stream
    assert "listen 8046;" in config
