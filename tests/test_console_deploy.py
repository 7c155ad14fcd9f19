"""mongo-express in docker-compose (no Docker engine here: its structure is checked, and its user's init script
run under node with a recording `db`) and the console's templates and stylesheet in the package data."""

from pathlib import Path

import yaml
from kit import run_mongo_init

REPO = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_mongo_express_is_read_only_local_and_asks_for_a_password():
    services = compose()["services"]
    browse, mongo = services["mongo-express"], services["mongo"]
    env = browse["environment"]
    assert browse["image"].startswith("mongo-express:") and browse["profiles"] == ["browse"]
    assert browse["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert env["ME_CONFIG_OPTIONS_READONLY"] == "true" and env["ME_CONFIG_MONGODB_ENABLE_ADMIN"] == "false"
    assert env["ME_CONFIG_BASICAUTH"] == "true"
    # Its own read-only user, not the administrator or the crawler; passwords only in secret files.
    assert env["ME_CONFIG_MONGODB_AUTH_USERNAME"] == mongo["environment"]["MONGO_READER_USER"]
    assert env["ME_CONFIG_MONGODB_AUTH_USERNAME"] not in (mongo["environment"]["MONGO_CRAWLER_USER"],
                                                          mongo["environment"]["MONGO_INITDB_ROOT_USERNAME"])
    assert env["ME_CONFIG_MONGODB_AUTH_PASSWORD_FILE"] == mongo["environment"]["MONGO_READER_PASSWORD_FILE"]
    assert env["ME_CONFIG_MONGODB_AUTH_DATABASE"] == mongo["environment"]["NEWSCRAWLER_DB"]
    assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in env)
    assert set(browse["secrets"]) == {"mongo_reader_password", "mongo_express_password"}
    assert "mongo_reader_password" in mongo["secrets"]
    assert all(port.startswith("127.0.0.1:") for port in browse["ports"])


def test_the_reader_is_made_with_the_read_role_only(tmp_path):
    mongo = compose()["services"]["mongo"]
    password_file = tmp_path / "pw"
    password_file.write_text("0123abcd\n")
    env = {**mongo["environment"], "MONGO_READER_PASSWORD_FILE": str(password_file)}
    assert run_mongo_init("20-reader-user.js", env, tmp_path) == [
        {"db": "newscrawler", "user": "reader", "pwd": "0123abcd", "roles": [{"role": "read", "db": "newscrawler"}]}]
    password_file.write_text("")
    assert "is empty" in run_mongo_init("20-reader-user.js", env, tmp_path)["error"]


def test_the_console_files_are_package_data():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["newscrawler"]
    web = REPO / "newscrawler" / "web"
    shipped = {p for pattern in data for p in (REPO / "newscrawler").glob(pattern)}
    assert set(web.glob("templates/*")) <= shipped and set(web.glob("static/*")) <= shipped
    assert len(list(web.glob("templates/*.html"))) >= 7
