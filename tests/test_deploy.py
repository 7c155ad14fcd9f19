"""No Docker engine runs here: check the production compose file's structure instead."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_compose_runs_authenticated_mongod_with_a_volume_and_the_crawler_against_it():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    mongo, crawler = services["mongo"], services["crawler"]
    assert mongo["image"].startswith("mongo:")
    assert "--auth" in mongo["command"]
    assert "MONGO_INITDB_ROOT_PASSWORD" in mongo["environment"]
    assert any(v.endswith(":/data/db") for v in mongo["volumes"])
    assert set(compose["volumes"]) >= {v.split(":")[0] for v in mongo["volumes"]}
    uri = crawler["environment"]["MONGO_URI"]
    assert re.match(r"mongodb://\$\{MONGO_USER[^}]*\}:\$\{MONGO_PASSWORD[^}]*\}@mongo:27017/", uri)
    assert crawler["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert crawler["command"] == ["crawl"] and crawler["entrypoint"] == ["newscrawler"]
    # The password comes from the environment, never from the file.
    assert "MONGO_PASSWORD:?" in (REPO / "docker-compose.yml").read_text()
    assert (REPO / "Dockerfile").is_file()
