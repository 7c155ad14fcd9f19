"""The production shape and install: no Docker engine runs here, so the compose file and Dockerfile are
checked for their structure; the wheel is built for real and the Makefile's clean targets run for real."""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from kit import run_mongo_init
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


COMPOSE = REPO / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_authenticated_mongod_with_a_volume_and_the_crawler_against_it():
    compose = _compose()
    services = compose["services"]
    mongo, crawler = services["mongo"], services["crawler"]
    assert mongo["image"].startswith("mongo:")
    assert "--auth" in mongo["command"]
    assert any(v.endswith(":/data/db") for v in mongo["volumes"])
    assert set(compose["volumes"]) >= {v.split(":")[0] for v in mongo["volumes"] + crawler["volumes"]
                                        if not v.startswith(".")}
    assert crawler["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert crawler["entrypoint"] == ["newscrawler"]
    assert (REPO / "Dockerfile").is_file()


def test_compose_passwords_are_secret_files_so_down_needs_no_variable():
    text = COMPOSE.read_text()
    # No variable the file cannot do without (`${X:?…}` made even `docker compose down` fail without it), and
    # no password in the environment of either service.
    assert "${" not in text
    mongo, crawler = (_compose()["services"][s] for s in ("mongo", "crawler"))
    for service in (mongo, crawler):
        assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in service["environment"]), service
        assert "MONGO_URI" not in service["environment"]
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/mongo_root_password"
    secrets = _compose()["secrets"]
    # (mongo-express's read-only user and its sign-in: tests/test_console_deploy.py)
    assert {k: v["file"] for k, v in secrets.items()} == {"mongo_root_password": "./secrets/mongo_root_password",
                                                          "mongo_crawler_password": "./secrets/mongo_crawler_password",
                                                          "mongo_reader_password": "./secrets/mongo_reader_password",
                                                          "mongo_express_password": "./secrets/mongo_express_password"}
    assert crawler["secrets"] == ["mongo_crawler_password"], "the crawler must not see the administrator's password"
    assert "secrets/" in (REPO / ".gitignore").read_text().split() and "secrets" in (REPO / ".dockerignore").read_text()


def test_the_crawler_connects_as_its_own_readwrite_user_created_by_the_init_script(tmp_path):
    mongo, crawler = (_compose()["services"][s] for s in ("mongo", "crawler"))
    env = crawler["environment"]
    assert env["MONGO_USER"] == mongo["environment"]["MONGO_CRAWLER_USER"] != mongo["environment"][
        "MONGO_INITDB_ROOT_USERNAME"]
    assert env["MONGO_PASSWORD_FILE"] == mongo["environment"]["MONGO_CRAWLER_PASSWORD_FILE"]
    assert env["MONGO_AUTH_SOURCE"] == env["NEWSCRAWLER_DB"] == mongo["environment"]["NEWSCRAWLER_DB"]
    assert "./docker/mongo-init:/docker-entrypoint-initdb.d:ro" in mongo["volumes"]
    password_file = tmp_path / "pw"
    password_file.write_text("p@ss:w/rd%\n")
    init_env = {**mongo["environment"], "MONGO_CRAWLER_PASSWORD_FILE": str(password_file)}
    assert run_mongo_init("10-crawler-user.js", init_env, tmp_path) == [
        {"db": "newscrawler", "user": "newscrawler", "pwd": "p@ss:w/rd%",
         "roles": [{"role": "readWrite", "db": "newscrawler"}]}]
    password_file.write_text("")
    assert "is empty" in run_mongo_init("10-crawler-user.js", init_env, tmp_path)["error"]


def test_compose_schedules_the_nightly_crawl_and_the_daily_recheck_in_the_stack():
    from newscrawler.cli.schedule import parse_job

    crawler = _compose()["services"]["crawler"]
    command = crawler["command"]
    assert command[0] == "schedule"
    jobs = [parse_job(command[i + 1]) for i, arg in enumerate(command) if arg == "--job"]
    assert sorted(job.args for job in jobs) == [["crawl"], ["crawl", "--recheck"]]
    assert crawler["restart"] == "unless-stopped" and crawler["init"] is True
    assert crawler["stop_signal"] == "SIGTERM" and crawler["stop_grace_period"]
    assert crawler["environment"]["NEWSCRAWLER_MAX_RUNTIME"] and crawler["environment"]["TZ"]
    # Room for the web console's mongo-express service (issue 10).
    assert "mongo-express" in COMPOSE.read_text()


def _compose_tool() -> list[str] | None:
    """`docker compose` (the plugin) or `docker-compose` (v1, Debian's package), whichever is installed."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file_with_no_variable_and_no_secret_file(tmp_path):
    """What `docker compose down` parses first: no password variable, no secret file, no engine needed."""
    tool = _compose_tool()
    if tool is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copytree(REPO / "docker", tmp_path / "docker")
    env = {k: v for k, v in os.environ.items() if "MONGO" not in k and "PASSWORD" not in k}
    done = subprocess.run([*tool, "config"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["crawler"]["command"][0] == "schedule"
    secrets = resolved["services"]["crawler"]["secrets"]
    assert [s["source"] if isinstance(s, dict) else s for s in secrets] == ["mongo_crawler_password"]


# ---------------------------------------------------------------- production install, lock, image, licence

def _wheel_files(tmp_path: Path) -> list[str]:
    """Build the production wheel offline from a copy of the checkout (the build leaves nothing in the tree)."""
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".lock-venv", "var", ".git", "build",
                                                             "*.egg-info", "__pycache__", ".*_cache"))
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(src)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("newscrawler-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.mark.slow
def test_the_production_wheel_carries_no_replay_and_the_profiles(tmp_path):
    names = _wheel_files(tmp_path)
    replay = [n for n in names if "replay" in n.lower() and n != "newscrawler/cli/replay.py"]
    assert not replay, replay
    assert {n.split("/")[0] for n in names} == {"newscrawler", "newscrawler-0.1.0.dist-info"}
    assert {"newscrawler/portals/jzrb.toml", "newscrawler/normalise/sources.toml", "newscrawler/cli/replay.py"} \
        <= set(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_product_imports_the_replay_only_lazily_in_its_dev_commands():
    users = [p.relative_to(REPO).as_posix() for p in (REPO / "newscrawler").rglob("*.py")
             if "newscrawler_replay" in p.read_text(encoding="utf-8")]
    assert users == ["newscrawler/cli/replay.py"]
    source = (REPO / "newscrawler" / "cli" / "replay.py").read_text(encoding="utf-8")
    assert not re.search(r"^(from|import) newscrawler_replay", source, re.M)


def _locked() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_declared_dependency_and_this_install_follows_it():
    import tomllib

    pins = _locked()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    replay = tomllib.loads((REPO / "replay" / "pyproject.toml").read_text())["project"]["dependencies"]
    for spec in [*declared, *replay]:
        req = Requirement(spec)
        if canonicalize_name(req.name) == "newscrawler":
            continue
        assert canonicalize_name(req.name) in pins, f"{req.name} is declared but not in requirements.lock"
        assert req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True), (spec, pins[req.name])
    # `make setup` installed through the lock: every locked package present here has the locked version.
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    differ = {n: (installed[n], v) for n, v in pins.items() if n in installed and installed[n] != v}
    assert not differ


def test_setup_install_ci_and_image_install_from_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^PIP := \$\(BIN\)/pip install -q -c \$\(LOCK\)$", makefile, re.M)
    install = re.search(r"^install:\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "$(PIP) '.$(if $(MONGO_URI),,[embedded])'" in install and "dev" not in install and "replay" not in install
    assert re.search(r"^test: lint\b.*\n\t(\$\(TESTS_WRITE_BYTECODE\) )?\$\(BIN\)/python -m pytest", makefile, re.M)
    assert "ruff check" in re.search(r"^lint:.*\n\t(.*)", makefile, re.M).group(1)
    assert "make test" in (REPO / ".ci" / "run").read_text()
    docker = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -c requirements.lock ." in docker
    assert "COPY requirements.lock" in docker
    assert not re.search(r"^COPY .*(replay|tests|benchmarks)", docker, re.M)
    user = re.findall(r"^USER (\S+)", docker, re.M)
    assert user and user[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert docker.index("USER") > docker.index("pip install")


def test_licence_is_bsd_3_clause_and_declared():
    import tomllib

    assert (REPO / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "BSD-3-Clause"


# ---------------------------------------------------------------- make clean never touches data

@pytest.fixture
def checkout(tmp_path):
    """A stand-in checkout: the real Makefile, a data directory, build leftovers."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for d in ("newscrawler", "replay", "tests", "benchmarks"):
        (tmp_path / d / "__pycache__").mkdir(parents=True)
    (tmp_path / "fake-venv" / "bin").mkdir(parents=True)
    (tmp_path / "var" / "db").mkdir(parents=True)
    (tmp_path / "var" / "db" / "collection-0.wt").write_bytes(b"articles")
    (tmp_path / "var" / "spill").mkdir()
    (tmp_path / "var" / "spill" / "run-1.jsonl").write_text('{"url": "http://x/1"}\n')
    return tmp_path


def _make(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_make_clean_leaves_the_data_directory(checkout):
    done = _make(checkout, "clean", "VENV=fake-venv")
    assert done.returncode == 0, done.stderr
    assert not (checkout / "fake-venv").exists() and not (checkout / "tests" / "__pycache__").exists()
    assert (checkout / "var" / "db" / "collection-0.wt").read_bytes() == b"articles"
    assert (checkout / "var" / "spill" / "run-1.jsonl").exists()


def test_make_clean_data_says_what_it_deletes(checkout):
    done = _make(checkout, "clean-data")
    assert done.returncode == 0, done.stderr
    assert f"deleting {checkout / 'var'}" in done.stdout
    assert "var/db: the embedded database" in done.stdout
    assert "var/spill: 1 spill file(s)" in done.stdout
    assert not (checkout / "var").exists()
    assert "does not exist; nothing deleted" in _make(checkout, "clean-data").stdout


def test_make_clean_data_refuses_while_the_database_server_runs(checkout):
    (checkout / "var" / "db" / "server.json").write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    done = _make(checkout, "clean-data")
    assert done.returncode != 0
    assert f"(pid {os.getpid()}) is running" in done.stderr and "nothing deleted" in done.stderr
    assert (checkout / "var" / "db" / "collection-0.wt").exists()
