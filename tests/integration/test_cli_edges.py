"""The CLI's rough edges a newcomer hit (issue 16), each with its exit code by the contract
(0 ok, 2 bad usage or input, 1 other): a desk port taken, the demo's port, a private address
at `sources add`, a GBK CSV from Excel, and the first admin's password kept."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.importing import decode_file
from monitor.models import Item, Source
from tasks.service import announce_first_admin, port_problem
from tests.integration.test_cli import cli_env, yuqing  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

# An export a vendor's analyst saved from Excel on Chinese Windows: code page 936, CRLF.
EXCEL_ROWS = [
    ("id", "author", "created_at", "text"),
    ("wb-4951", "洛阳网友老李", "2026-11-24T09:12:00+08:00",
     "西工区法律援助中心说材料不全，跑了三趟还是不受理，农民工讨薪怎么这么难？"),
    ("wb-4952", "豫法观察", "2026-11-24T10:40:00+08:00",
     "省司法厅回应：已责成洛阳市司法局核查，七个工作日内答复当事人。"),
    ("wb-4953", "郑州小王", "2026-11-24T11:05:00+08:00",
     "公证处排队两小时，窗口只开一个——“放管服”落实了吗？"),
]


def _excel_csv(path: Path, encoding: str = "gbk") -> Path:
    text = "\r\n".join(",".join(cells) for cells in EXCEL_ROWS) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_run_refuses_a_desk_port_in_use_before_starting_anything(cli_env, listening, home):
    assert port_problem("127.0.0.1", listening) is not None
    r = yuqing(cli_env, "run", "--no-demo", "--port", str(listening))
    assert r.returncode == 1, r.stderr
    assert f"127.0.0.1:{listening}" in r.stderr and "--port" in r.stderr
    assert "Traceback" not in r.stderr
    # Nothing was started: no embedded broker, no first admin made.
    assert not (home / "broker").exists()
    assert not (home / "first-admin-password.txt").exists()


def test_run_refuses_a_demo_port_in_use(cli_env, listening):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        desk_port = probe.getsockname()[1]
    r = yuqing(cli_env, "run", "--port", str(desk_port), "--demo-port", str(listening))
    assert r.returncode == 1 and "--demo-port" in r.stderr and "demo feed server" in r.stderr


def test_demo_with_a_port_in_use_is_an_error_naming_the_option(cli_env, listening):
    r = yuqing(cli_env, "demo", "--port", str(listening), "--timeout", "5")
    assert r.returncode == 1
    assert "yuqing demo --port" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("argv", [["run", "--port", "70000"], ["demo", "--port", "0"],
                                  ["run", "--port", "http"]])
def test_port_options_are_checked(cli_env, argv):
    r = yuqing(cli_env, *argv)
    assert r.returncode == 2 and "--port" in r.stderr


@pytest.mark.parametrize(("url", "allowed_with_flag"), [
    ("http://192.168.1.20/rss.xml", True),
    ("http://10.8.0.3:1200/weibo/user/123", True),     # an RSSHub on the office's network
    ("http://127.0.0.1:8765/feeds/a.xml", True),
    ("http://[::1]/feed", True),
    ("http://169.254.169.254/latest/meta-data/", False),  # never: the cloud's metadata
    ("http://[fe80::1]/feed", False),                 # never: link-local
])
def test_sources_add_refuses_a_private_literal_naming_allow_private(
        cli_env, sessions: sessionmaker[Session], url: str, allowed_with_flag: bool):
    yuqing(cli_env, "init")
    r = yuqing(cli_env, "sources", "add", url, "--name", "内网桥")
    assert r.returncode == 2
    assert "--allow-private" in r.stderr and "Traceback" not in r.stderr
    r = yuqing(cli_env, "sources", "add", url, "--name", "内网桥", "--allow-private")
    assert r.returncode == (0 if allowed_with_flag else 2), r.stderr
    if not allowed_with_flag:
        assert "not even with --allow-private" in r.stderr
    with sessions() as s:
        names = list(s.scalars(select(Source.name)))
    assert names == (["内网桥"] if allowed_with_flag else [])


def test_sources_add_takes_a_public_literal_and_names(cli_env):
    yuqing(cli_env, "init")
    for url in ("http://1.2.3.4/rss", "https://www.hnsft.gov.cn/rss.xml"):
        r = yuqing(cli_env, "sources", "add", url)
        assert r.returncode == 0, r.stderr


def _stored(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as s:
        return [(i.text, i.author) for i in s.scalars(select(Item).order_by(Item.id))]


def test_an_excel_gbk_csv_imports_as_chinese(cli_env, tmp_path, sessions):
    path = _excel_csv(tmp_path / "舆情导出.csv")
    r = yuqing(cli_env, "import", str(path), "--source", "服务商导出", "--no-wait")
    assert r.returncode == 0, r.stderr
    assert "imported 3" in r.stdout and "read as gb18030" in r.stdout
    stored = _stored(sessions)
    assert [a for _, a in stored] == ["洛阳网友老李", "豫法观察", "郑州小王"]
    assert stored[2][0].endswith("“放管服”落实了吗？")


def test_import_encoding_given_and_wrong(cli_env, tmp_path, sessions):
    path = _excel_csv(tmp_path / "export.csv")
    r = yuqing(cli_env, "import", str(path), "--encoding", "utf-8", "--no-wait")
    assert r.returncode == 2
    assert "is not utf-8 text" in r.stderr and "--encoding" in r.stderr
    assert "nothing was imported" in r.stderr
    r = yuqing(cli_env, "import", str(path), "--encoding", "klingon", "--no-wait")
    assert r.returncode == 2 and "unknown encoding 'klingon'" in r.stderr
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 0
    r = yuqing(cli_env, "import", str(path), "--encoding", "GBK", "--no-wait")
    assert r.returncode == 0, r.stderr
    assert len(_stored(sessions)) == 3
    big5 = tmp_path / "tw.csv"  # 繁體 from Taiwan: not guessed, but can be asked for
    big5.write_bytes(("id,author,text\r\ntw-1,台北網友,法律扶助基金會說申請要等兩週，"
                      "律師費用也不透明，希望主管機關說明。\r\n").encode("big5"))
    r = yuqing(cli_env, "import", str(big5), "--no-wait")
    assert r.returncode == 2 and "nor GBK/GB18030" in r.stderr
    r = yuqing(cli_env, "import", str(big5), "--encoding", "big5", "--no-wait")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_decode_detects_utf8_and_gbk_csv(tmp_path, encoding, expected):
    raw = "text,author\r\n司法所调解邻里纠纷，群众点赞,网友\r\n".encode(encoding)
    text, used = decode_file(tmp_path / "a.csv", raw, None)
    assert used == expected and text.startswith("text,author")


def test_gbk_is_not_guessed_for_jsonl(tmp_path):
    raw = '{"text": "律师收费不透明"}\n'.encode("gbk")
    with pytest.raises(Exception, match="not UTF-8"):
        decode_file(tmp_path / "a.jsonl", raw, None)


def test_first_admin_password_is_framed_and_kept_0600(tmp_path):
    home = tmp_path / "var"
    framed, path = announce_first_admin(home, "Xk3-generated-pw", generated=True)
    lines = framed.splitlines()
    assert lines[0] == lines[-1] and set(lines[0]) == {"="}
    assert "Xk3-generated-pw" in framed and "yuqing users passwd admin" in framed
    assert path == home / "first-admin-password.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "password: Xk3-generated-pw" in path.read_text(encoding="utf-8")
    # A password the operator chose (YUQING_ADMIN_PASSWORD) is not written anywhere.
    framed, path = announce_first_admin(tmp_path / "other", "chosen-by-me", generated=False)
    assert path is None and "chosen-by-me" not in framed
    assert not (tmp_path / "other").exists()
