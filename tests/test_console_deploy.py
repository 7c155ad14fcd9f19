"""mongo-express in docker-compose (no Docker engine here: its structure is checked) and the console's
templates and stylesheet in the package data of the production wheel."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_mongo_express_is_read_only_local_and_asks_for_a_password():
    text = (REPO / "docker-compose.yml").read_text()
    browse = yaml.safe_load(text)["services"]["mongo-express"]
    env = browse["environment"]
    assert browse["image"].startswith("mongo-express:") and browse["profiles"] == ["browse"]
    assert browse["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert env["ME_CONFIG_OPTIONS_READONLY"] == "true" and env["ME_CONFIG_MONGODB_ENABLE_ADMIN"] == "false"
    assert env["ME_CONFIG_BASICAUTH"] == "true"
    # A read-only database user, not the root account; passwords come from the environment only.
    url = env["ME_CONFIG_MONGODB_URL"]
    assert url.startswith("mongodb://${MONGO_READER_USER") and "MONGO_PASSWORD" not in url
    assert "MONGO_READER_PASSWORD:?" in url and "ME_PASSWORD:?" in env["ME_CONFIG_BASICAUTH_PASSWORD"]
    assert 'role: "read"' in text
    assert all(port.startswith("127.0.0.1:") for port in browse["ports"])


def test_the_console_files_are_package_data():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["newscrawler"]
    web = REPO / "newscrawler" / "web"
    shipped = {p for pattern in data for p in (REPO / "newscrawler").glob(pattern)}
    assert set(web.glob("templates/*")) <= shipped and set(web.glob("static/*")) <= shipped
    assert len(list(web.glob("templates/*.html"))) >= 7
