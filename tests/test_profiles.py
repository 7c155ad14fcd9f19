import pytest

from newscrawler.profiles import ProfileError, load_profile, load_profiles, select_profiles

GOOD = """
site = "demo"
hosts = ["example.cn"]
start_urls = ["http://www.example.cn/"]
article_url_pattern = '^http://www\\.example\\.cn/\\d+\\.html$'
"""


def write(tmp_path, text, name="demo.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_load_and_match_their_sample_urls():
    profiles = load_profiles()
    assert {"jzrb", "dahe", "hnr", "lyd"} <= set(profiles)
    assert profiles["jzrb"].is_article_url("http://jzrb.com/news/bendi/202206/821798.shtml")
    assert profiles["dahe"].is_article_url("http://news.dahe.cn/2024/03-23/1234567.html")
    assert profiles["hnr"].is_article_url("http://news.hnr.cn/202403/23/1234567.html")
    assert profiles["lyd"].is_article_url("http://news.lyd.com.cn/system/2024/03/23/012345678.shtml")
    assert not profiles["lyd"].is_article_url("http://news.lyd.com.cn/system/2024/03/23/012345678_01.shtml")
    assert not profiles["jzrb"].is_article_url("http://www.jzrb.com/news/bendi/index_2.shtml")


def test_good_profile_loads(tmp_path):
    p = load_profile(write(tmp_path, GOOD))
    assert p.site == "demo" and p.timezone == "Asia/Shanghai" and p.owns_url("http://news.example.cn/x")


@pytest.mark.parametrize("text, field", [
    (GOOD.replace('site = "demo"', ""), "site"),
    (GOOD.replace("article_url_pattern = '^http", "article_url_pattern = '(^http"), "article_url_pattern"),
    (GOOD + 'timezone = "Mars/Olympus"\n', "timezone"),
    (GOOD + 'charset = "gbk-nonsense"\n', "charset"),
    (GOOD.replace('["http://www.example.cn/"]', '["www.example.cn"]'), "start_urls"),
    (GOOD + "[selectors]\nheadlin = 'h1'\n", "selectors.headlin"),
    (GOOD + 'colum_urls = []\n', "colum_urls"),
    (GOOD.replace('hosts = ["example.cn"]', 'hosts = "example.cn"'), "hosts"),
])
def test_broken_profile_names_file_and_field(tmp_path, text, field):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.field == field
    assert str(path) in str(err.value) and field in str(err.value)


def test_invalid_toml_names_file(tmp_path):
    path = write(tmp_path, "site = \n")
    with pytest.raises(ProfileError, match="not valid TOML") as err:
        load_profile(path)
    assert str(path) in str(err.value)


def test_unknown_site_is_named(tmp_path):
    with pytest.raises(ProfileError, match="nosuchsite"):
        select_profiles(["nosuchsite"])


def test_extra_profile_dir_overrides_and_adds(tmp_path, monkeypatch):
    write(tmp_path, GOOD)
    monkeypatch.setenv("NEWSCRAWLER_PROFILES", str(tmp_path))
    assert "demo" in {p.site for p in select_profiles(None)}
