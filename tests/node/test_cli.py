"""The `guildhall` command: set-up, administration, and errors as messages with exit codes."""

import asyncio
import io
import shutil
import stat
import sys
from pathlib import Path

import pytest

from node import auth, members, posts
from node.cli import main
from node.errors import InvalidInput
from node.runtime import open_node
from node.settings import load

BASE_URL = "https://school.example"
BROKEN_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/guildhall"


class Shell:
    """A working directory with its own config file and SQLite database."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.config = root / "etc" / "guildhall.toml"
        self.database = f"sqlite+aiosqlite:///{root / 'var' / 'guildhall.db'}"
        self._capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of one command."""
        self._capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self._capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def init(self, *extra: str) -> str:
        code, out, err = self.run(
            "init", "--base-url", BASE_URL, "--database", self.database, *extra
        )
        assert (code, err) == (0, "")
        return out


@pytest.fixture
def shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Shell:
    monkeypatch.chdir(tmp_path)
    for variable in ("CONFIG", "BASE_URL", "DATABASE_URL", "SECRET", "DEV", "MEDIA_DIR", "NAME"):
        monkeypatch.delenv(f"GUILDHALL_{variable}", raising=False)
    return Shell(tmp_path, capsys)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node initialised once with `guildhall init` (migrations and keys are the slow part)."""
    root = tmp_path_factory.mktemp("initialised")
    database = f"sqlite+aiosqlite:///{root / 'var' / 'guildhall.db'}"
    arguments = ["--base-url", BASE_URL, "--database", database, "--first-admin", "head"]
    assert main(["--config", str(root / "etc" / "guildhall.toml"), "init", *arguments]) == 0
    return root


@pytest.fixture
def ready(shell: Shell, initialised: Path) -> Shell:
    """A shell on its own copy of an initialised node with one administrator, `head`."""
    shutil.copytree(initialised / "var", shell.root / "var")
    text = (initialised / "etc" / "guildhall.toml").read_text(encoding="utf-8")
    shell.config.parent.mkdir()
    shell.config.write_text(text.replace(str(initialised), str(shell.root)), encoding="utf-8")
    assert load(shell.config, environ={}).database_url == shell.database
    return shell


def _redeem(config: Path, link: str) -> tuple[str, str]:
    async def redeem() -> tuple[str, str]:
        node = await open_node(load(config, environ={}))
        try:
            async with node.transaction() as tx:
                member = await auth.redeem_sign_in_link(tx, link.rsplit("/", 1)[1])
                return member.actor.name, member.role
        finally:
            await node.close()

    return asyncio.run(redeem())


def test_init_writes_a_private_config_and_prints_a_one_time_link(shell: Shell) -> None:
    out = shell.init("--first-admin", "Head")
    assert f"Initialised {BASE_URL} in {shell.config}" in out
    links = [word for word in out.split() if word.startswith(BASE_URL + "/sign-in/link/")]
    assert len(links) == 1
    assert "administrator 'head'" in out  # the name as it will be used, lower-cased
    assert stat.S_IMODE(shell.config.stat().st_mode) == 0o600
    settings = load(shell.config, environ={})
    assert settings.base_url == BASE_URL
    assert settings.database_url == shell.database
    assert len(settings.secret) >= 32
    assert (shell.root / "var" / "guildhall.db").exists()
    assert _redeem(shell.config, links[0]) == ("head", "admin")
    with pytest.raises(InvalidInput, match="used"):
        _redeem(shell.config, links[0])


def test_init_without_an_administrator_prints_no_link(shell: Shell) -> None:
    out = shell.init()
    assert "sign-in/link" not in out


def test_init_refuses_to_run_twice(ready: Shell) -> None:
    before = ready.config.read_text(encoding="utf-8")
    code, out, err = ready.run("init", "--base-url", BASE_URL, "--database", ready.database)
    assert code == 3
    assert out == ""
    assert err.startswith("guildhall: error: ")
    assert "already exists" in err
    assert ready.config.read_text(encoding="utf-8") == before


def test_init_needs_dev_mode_for_plain_http(shell: Shell) -> None:
    code, _, err = shell.run("init", "--database", shell.database)  # default http://127.0.0.1
    assert code == 3
    assert "https" in err and "--dev" in err
    assert not shell.config.exists()
    code, out, _ = shell.run("init", "--dev", "--database", shell.database)
    assert code == 0
    assert load(shell.config, environ={}).dev


def test_init_refuses_an_unsupported_database(shell: Shell) -> None:
    code, _, err = shell.run("init", "--base-url", BASE_URL, "--database", "mysql://db/guildhall")
    assert code == 3
    assert "unsupported database driver" in err
    assert not shell.config.exists()


def test_an_unreachable_database_is_a_clear_error(shell: Shell) -> None:
    code, out, err = shell.run("init", "--base-url", BASE_URL, "--database", BROKEN_DATABASE)
    assert code == 3
    assert "cannot use the database" in err
    assert len(err.strip().splitlines()) == 1
    assert not shell.config.exists()  # nothing half-initialised is left behind


def test_a_configured_but_unreachable_database_is_a_clear_error(ready: Shell) -> None:
    text = ready.config.read_text(encoding="utf-8").replace(ready.database, BROKEN_DATABASE)
    ready.config.write_text(text, encoding="utf-8")
    for command in (["member", "list"], ["db", "upgrade"]):
        code, _, err = ready.run(*command)
        assert code == 3
        assert "database" in err
        assert len(err.strip().splitlines()) == 1


def test_commands_without_a_config_explain_what_to_do(shell: Shell) -> None:
    code, _, err = shell.run("member", "list")
    assert code == 3
    assert "guildhall init" in err


def test_db_upgrade_on_a_current_schema(ready: Shell) -> None:
    code, out, _ = ready.run("db", "upgrade")
    assert code == 0
    assert "up to date" in out


def test_member_add_prints_the_actor_and_a_sign_in_link(ready: Shell) -> None:
    code, out, _ = ready.run("member", "add", "Alice", "--display-name", "Alice Liddell")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Added alice@school.example (member): {BASE_URL}/members/alice"
    assert lines[1].startswith(f"One-time sign-in link: {BASE_URL}/sign-in/link/")
    assert _redeem(ready.config, lines[1].split()[-1]) == ("alice", "member")
    code, out, _ = ready.run("member", "list")
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["alice", "member"],
        ["head", "admin"],
    ]
    assert "Alice Liddell" in out


def test_member_add_with_a_password_from_stdin(
    ready: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    code, out, _ = ready.run("member", "add", "bob", "--role", "mentor", "--password-stdin")
    assert code == 0
    assert out == f"Added bob@school.example (mentor): {BASE_URL}/members/bob\n"

    async def sign_in() -> bool:
        node = await open_node(load(ready.config, environ={}))
        try:
            async with node.transaction() as tx:
                return (
                    await auth.authenticate(tx, "bob", "a long enough password", "::1") is not None
                )
        finally:
            await node.close()

    assert asyncio.run(sign_in())


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["member", "add", "head"], "already taken"),
        (["member", "add", "bad-"], "not a valid name"),
        (["member", "add", "root"], "reserved"),
        (["member", "link", "nobody"], "no member called 'nobody'"),
        (["member", "role", "nobody", "admin"], "no member called 'nobody'"),
        (["member", "role", "head", "member"], "at least one administrator"),
        (["community", "add", "head", "--title", "Heads"], "already taken"),
        (["community", "add", "maths", "--title", "Maths", "--license", "CC-BY-99"], "CC-BY-99"),
        (["community", "add", "maths", "--title", " "], "title"),
        (["community", "join", "nowhere", "head"], "no community called 'nowhere'"),
        (["post", "--as", "nobody", "Hello"], "no member called 'nobody'"),
        (["post", "--as", "head", "--license", "CC-BY-99", "Hello"], "CC-BY-99"),
        (["post", "--as", "head", "--community", "nowhere", "Hello"], "no community"),
        (["post", "--as", "head", "--reply-to", f"{BASE_URL}/posts/0000", "Hi"], "no post"),
        (["post", "--as", "head", "   "], "needs some text"),
    ],
)
def test_refusals_are_messages_with_exit_code_2(ready: Shell, args: list[str], reason: str) -> None:
    code, out, err = ready.run(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("guildhall: error: ")
    assert reason in err


def test_argument_mistakes_are_argparse_errors(ready: Shell) -> None:
    with pytest.raises(SystemExit) as exited:
        ready.run("member", "add", "alice", "--role", "owner")
    assert exited.value.code == 2


def test_roles_and_links_for_existing_members(ready: Shell) -> None:
    ready.run("member", "add", "alice")
    code, out, _ = ready.run("member", "role", "alice", "moderator")
    assert (code, out) == (0, "alice is now moderator.\n")
    code, out, _ = ready.run("member", "link", "alice")
    assert code == 0
    assert _redeem(ready.config, out.strip()) == ("alice", "moderator")


def test_communities_members_and_posts(ready: Shell) -> None:
    ready.run("member", "add", "alice")
    ready.run("member", "add", "bob")
    code, out, _ = ready.run(
        "community",
        "add",
        "maths",
        "--title",
        "Maths teachers",
        "--license",
        "cc-by-sa-4.0",
        "--closed",
        "--description",
        "Worksheets and *ideas*",
    )
    assert (code, out) == (0, f"Created maths@school.example: {BASE_URL}/communities/maths\n")
    code, out, _ = ready.run("community", "add", "art", "--title", "Art", "--kind", "youth")
    assert code == 0
    code, out, _ = ready.run("community", "list")
    assert [line.split()[:3] for line in out.splitlines()] == [
        ["art", "youth", "open"],
        ["maths", "teacher", "closed"],
    ]

    code, out, _ = ready.run("community", "join", "maths", "alice", "--role", "steward")
    assert (code, out) == (0, "alice joined maths as steward.\n")
    code, _, err = ready.run("community", "join", "maths", "alice")
    assert code == 2 and "already belongs" in err

    code, out, _ = ready.run("post", "--as", "alice", "--community", "maths", "--title", "Q", "Hi")
    assert code == 0
    root_url = out.strip()
    assert root_url.startswith(f"{BASE_URL}/posts/")
    code, out, _ = ready.run("post", "--as", "alice", "--reply-to", root_url, "Answer")
    assert code == 0
    reply_url = out.strip()
    code, out, _ = ready.run("post", "--as", "alice", "--license", "none", "Mine alone")
    assert code == 0
    reserved_url = out.strip()
    # bob never joined the closed community: he may not post there, nor reply there.
    code, _, err = ready.run("post", "--as", "bob", "--community", "maths", "Let me in")
    assert code == 2 and "closed" in err
    code, _, err = ready.run("post", "--as", "bob", "--reply-to", root_url, "Me too")
    assert code == 2 and "closed" in err

    async def read() -> None:
        node = await open_node(load(ready.config, environ={}))
        try:
            async with node.transaction() as tx:
                root = await posts.find_by_url(tx, root_url)
                reply = await posts.find_by_url(tx, reply_url)
                reserved = await posts.find_by_url(tx, reserved_url)
                assert root.title == "Q"
                assert root.community is not None and root.community.actor.name == "maths"
                assert root.license == "CC-BY-SA-4.0"
                assert reply.thread_id == root.id
                assert reply.community_id == root.community_id
                assert reply.license == "CC-BY-SA-4.0"
                assert reserved.license is None
                assert reserved.community_id is None
                assert len(await members.listing(tx)) == 3
        finally:
            await node.close()

    asyncio.run(read())


def test_the_remote_media_cache_is_switched_from_the_shell(ready: Shell) -> None:
    assert ready.run("federation", "media-cache", "on")[:2] == (0, "Remote media: cached here.\n")
    code, out, _ = ready.run("federation", "list")
    # Choosing the cache does not choose a federation mode: the mode stays the computed default.
    assert code == 0 and "Remote media: cached" in out and "no mode chosen yet" in out
    assert ready.run("federation", "media-cache", "off")[:2] == (0, "Remote media: linked.\n")
    assert "Remote media: linked" in ready.run("federation", "list")[1]
    with pytest.raises(SystemExit) as exited:
        ready.run("federation", "media-cache", "sometimes")
    assert exited.value.code == 2
