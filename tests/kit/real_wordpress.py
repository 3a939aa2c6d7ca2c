"""A real WordPress on loopback for the companion plugin's end-to-end tests: Debian's ``wordpress`` (6.1, with
``wordpress-l10n``'s Arabic), a private MariaDB server of its own (a temp datadir, its own socket, no TCP), and
PHP's built-in web server. ``start_wordpress`` brings it all up (installed in Arabic as «قريش», users with
application passwords, two categories, the plugin installed from the zip ``make plugin-zip`` builds and
activated) and :class:`WordPress` drives it. Where php, MariaDB or WordPress are absent the tests skip and say
why, unless ``BOT_TEST_WORDPRESS=required`` (CI), when they fail instead.

WordPress never reaches the internet (``WP_HTTP_BLOCK_EXTERNAL``, only 127.0.0.1/localhost allowed) and never
runs WP-Cron (``DISABLE_WP_CRON``): the plugin's notice must not need it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from .paths import ROOT

WORDPRESS = Path("/usr/share/wordpress")
PLUGIN = "wp-social-bot/wp-social-bot.php"
TITLE = "قريش"
CATEGORIES = ("سياسة", "اقتصاد")
#: Seconds a step may take before the harness gives up (generous: a slow machine never fails a test).
PATIENCE = 60
ROUTER = """<?php
/* php -S router: real files (and PHP scripts) as they are, everything else to WordPress's index.php. */
$path = rawurldecode( parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
$file = $_SERVER['DOCUMENT_ROOT'] . $path;
if ( $path !== '/' && file_exists( $file ) ) {
    if ( is_dir( $file ) && substr( $path, -1 ) !== '/' ) {
        header( 'Location: ' . $path . '/' );
        exit;
    }
    return false;
}
chdir( $_SERVER['DOCUMENT_ROOT'] );
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
"""
_BEGIN, _END = "/* wp-social-bot tests: constants */", "/* end of the constants */"


class StartFailed(AssertionError):
    """A step of bringing WordPress up (or a ``php()`` call) failed; the message names it and ends with its
    log's tail."""


def missing() -> str | None:
    """Why a real WordPress cannot run here (None when it can)."""
    for tool in ("php", "mariadbd", "mariadb-install-db", "mariadb"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (apt-get install php-cli php-mysql mariadb-server)"
    if not (WORDPRESS / "wp-load.php").exists():
        return "Debian's wordpress is not installed (apt-get install wordpress wordpress-l10n)"
    probe = subprocess.run(["php", "-r", "echo extension_loaded('mysqli') ? 'y' : 'n';"],
                           capture_output=True, text=True)
    if probe.stdout != "y":
        return "php has no mysqli (apt-get install php-mysql)"
    return None


def skip_or_fail() -> None:
    """Skip the test (fail it under ``BOT_TEST_WORDPRESS=required``) when a real WordPress cannot run here."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("BOT_TEST_WORDPRESS") == "required":
        pytest.fail(f"{reason}, and BOT_TEST_WORDPRESS=required")
    pytest.skip(reason)


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is absent)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(step: str, args: list[str], log: Path | None = None, **kw: Any) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=PATIENCE, **kw)
    if done.returncode != 0:
        tail = _tail(log) if log else ""
        raise StartFailed(f"{step} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
                          f"\n{tail}")
    return str(done.stdout)


@dataclass
class User:
    login: str
    password: str  #: the login password (wp-login.php)
    app_password: str  #: the application password (REST, Basic auth)
    id: int = 0


@dataclass
class WordPress:
    """A running WordPress: its base URL, its files, its users (``admin``, ``editor``, ``socialbot``,
    ``subscriber``) and its categories (name → term id)."""

    base: str
    root: Path  #: the document root (the copy of /usr/share/wordpress)
    work: Path  #: the temp folder holding everything (logs, the database, the document root)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # --- PHP inside WordPress ----------------------------------------------------------------------------------

    def php(self, code: str, stdin: str = "") -> str:
        """Run ``code`` (PHP statements, no ``<?php``) with wp-load.php loaded; what it printed."""
        script = self.work / f"snippet-{secrets.token_hex(6)}.php"
        script.write_text("<?php\n$_SERVER['HTTP_HOST'] = " + _php_string(self.base.split("//")[1]) + ";\n"
                          "define( 'WP_USE_THEMES', false );\nrequire " + _php_string(str(self.root / "wp-load.php"))
                          + ";\n" + code + "\n")
        try:
            done = subprocess.run(["php", "-d", "display_errors=stderr", "-d", "memory_limit=256M", str(script)],
                                  input=stdin, capture_output=True, text=True, timeout=PATIENCE, cwd=self.root)
        finally:
            script.unlink(missing_ok=True)
        if done.returncode != 0:
            raise StartFailed(f"PHP failed (exit {done.returncode}):\n{code}\n--- stdout:\n{done.stdout[-3000:]}"
                              f"\n--- stderr:\n{done.stderr[-3000:]}\n--- debug.log:\n"
                              f"{_tail(self.root / 'wp-content' / 'debug.log', 10)}")
        return str(done.stdout)

    # --- REST --------------------------------------------------------------------------------------------------

    def rest(self, method: str, route: str, json: Any = None, user: str | None = "editor",
             params: dict[str, Any] | None = None, timeout: float = PATIENCE) -> requests.Response:
        """A REST request in the ``?rest_route=`` form (plain permalinks), as ``user`` with their application
        password (``user=None``: anonymous)."""
        auth = None
        if user is not None:
            who = self.users[user]
            auth = (who.login, who.app_password)
        query = {"rest_route": route, **(params or {})}
        return requests.request(method, self.base + "/", params=query, json=json, auth=auth, timeout=timeout)

    def publish(self, title: str, content: str = "", categories: Iterable[str] = (),
                meta: dict[str, Any] | None = None, status: str = "publish", user: str = "editor") -> int:
        """A new post made through REST as ``user``; its id."""
        body: dict[str, Any] = {"title": title, "content": content, "status": status,
                                "categories": [self.categories[c] for c in categories]}
        if meta is not None:
            body["meta"] = meta
        answer = self.rest("POST", "/wp/v2/posts", json=body, user=user)
        assert answer.status_code == 201, f"publishing answered {answer.status_code}: {answer.text[:2000]}"
        return int(answer.json()["id"])

    def update(self, post_id: int, user: str = "editor", **fields: Any) -> dict[str, Any]:
        """Change a post's fields (``title``, ``status``, ``meta`` …) through REST; the post as it answers."""
        answer = self.rest("POST", f"/wp/v2/posts/{post_id}", json=fields, user=user)
        assert answer.status_code == 200, f"updating answered {answer.status_code}: {answer.text[:2000]}"
        result: dict[str, Any] = answer.json()
        return result

    def trash(self, post_id: int, user: str = "editor") -> None:
        answer = self.rest("DELETE", f"/wp/v2/posts/{post_id}", user=user)
        assert answer.status_code == 200, f"trashing answered {answer.status_code}: {answer.text[:2000]}"

    def delete(self, post_id: int, user: str = "editor") -> None:
        """Delete a post for good (``force=true``)."""
        answer = self.rest("DELETE", f"/wp/v2/posts/{post_id}", user=user, params={"force": "true"})
        assert answer.status_code == 200, f"deleting answered {answer.status_code}: {answer.text[:2000]}"

    def edit_view(self, post_id: int, user: str = "editor") -> dict[str, Any]:
        """The post in the ``edit`` context (its meta included), as ``user``."""
        answer = self.rest("GET", f"/wp/v2/posts/{post_id}", user=user, params={"context": "edit"})
        assert answer.status_code == 200, f"reading answered {answer.status_code}: {answer.text[:2000]}"
        result: dict[str, Any] = answer.json()
        return result

    # --- logs, configuration, logging in ------------------------------------------------------------------------

    def debug_log(self) -> str:
        """What WordPress (WP_DEBUG_LOG) and PHP (the web server's error_log) logged so far."""
        out = []
        for path in (self.root / "wp-content" / "debug.log", self.work / "php-errors.log"):
            if path.exists():
                out.append(path.read_text(errors="replace"))
        return "\n".join(out)

    def set_constants(self, url: str | None = None, secret: str | None = None) -> None:
        """Define (or, with None, leave undefined) WP_SOCIAL_BOT_URL and WP_SOCIAL_BOT_SECRET in wp-config.php;
        the next request sees them."""
        config = self.root / "wp-config.php"
        text = config.read_text()
        head, rest = text.split(_BEGIN, 1)
        _, tail = rest.split(_END, 1)
        lines = [f"define( 'WP_SOCIAL_BOT_{name}', {_php_string(value)} );"
                 for name, value in (("URL", url), ("SECRET", secret)) if value is not None]
        before = config.stat().st_mtime
        config.write_text(head + _BEGIN + "\n" + "\n".join(lines) + "\n" + _END + tail)
        # The server's opcache checks the file's mtime on every request (revalidate_freq=0): make it change
        # even when two rewrites fall in one second.
        later = max(time.time(), before + 1)
        os.utime(config, (later, later))

    def login(self, user: str = "admin") -> requests.Session:
        """A requests session logged in as ``user`` through wp-login.php (its cookies)."""
        who = self.users[user]
        session = requests.Session()
        session.cookies.set("wordpress_test_cookie", "WP Cookie check", domain="127.0.0.1")
        answer = session.post(self.base + "/wp-login.php", timeout=PATIENCE, allow_redirects=False,
                              data={"log": who.login, "pwd": who.password, "wp-submit": "Log In",
                                    "redirect_to": self.base + "/wp-admin/", "testcookie": "1"})
        assert answer.status_code == 302, f"logging in as {user} answered {answer.status_code}: {answer.text[:500]}"
        return session

    def close(self) -> None:
        """Stop the web server (its workers too: each server runs in a process group of its own) and MariaDB,
        and remove every file."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # a php -S worker left behind
        self.processes.clear()
        shutil.rmtree(self.work, ignore_errors=True)


# --- bringing it up --------------------------------------------------------------------------------------------

def _mariadb(work: Path) -> tuple[subprocess.Popen[bytes], Path]:
    datadir, sock, log = work / "mysql", work / "mysql.sock", work / "mariadb.log"
    _run("mariadb-install-db", [_tool("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}", "--user=root",
                                "--auth-root-authentication-method=normal", "--skip-test-db"])
    with open(log, "ab") as out:
        server = subprocess.Popen(
            [_tool("mariadbd"), "--no-defaults", f"--datadir={datadir}", f"--socket={sock}", "--skip-networking",
             "--user=root", f"--pid-file={work / 'mysql.pid'}", f"--log-error={log}", "--skip-log-bin",
             "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=32M", "--skip-name-resolve"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + PATIENCE
    while True:
        probe = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", str(sock), "-e", "select 1"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            break
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise StartFailed(f"MariaDB did not start (exit {server.poll()}):\n{_tail(log)}")
        time.sleep(0.1)
    _run("creating the database", ["mariadb", "--no-defaults", "-uroot", "-S", str(sock), "-e",
                                   "CREATE DATABASE wordpress CHARACTER SET utf8mb4; "
                                   "CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp'; "
                                   "GRANT ALL ON wordpress.* TO 'wp'@'localhost';"], log)
    return server, sock


def _config(sock: Path, work: Path, url: str | None, secret: str | None) -> str:
    salts = "\n".join(f"define( '{k}', {_php_string(secrets.token_urlsafe(48))} );" for k in (
        "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
        "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
    constants = "\n".join(f"define( 'WP_SOCIAL_BOT_{name}', {_php_string(value)} );"
                          for name, value in (("URL", url), ("SECRET", secret)) if value is not None)
    return f"""<?php
/* The test WordPress's configuration (written by tests/kit/real_wordpress.py). */
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wp' );
define( 'DB_PASSWORD', 'wp' );
define( 'DB_HOST', {_php_string('localhost:' + str(sock))} );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', {_php_string(str(work / 'wordpress' / 'wp-content' / 'debug.log'))} );
define( 'WP_DEBUG_DISPLAY', false );
define( 'DISABLE_WP_CRON', true );
define( 'WP_ENVIRONMENT_TYPE', 'local' );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
{_BEGIN}
{constants}
{_END}
if ( ! defined( 'ABSPATH' ) ) {{
    define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""


def plugin_zip() -> Path:
    """The plugin's zip as ``make plugin-zip`` builds it (dist/wp-social-bot.zip; the build is run here)."""
    _run("make plugin-zip", ["make", "-s", "plugin-zip"], cwd=ROOT)
    built = ROOT / "dist" / "wp-social-bot.zip"
    if not built.exists():
        raise StartFailed(f"make plugin-zip built no {built}")
    return built


def _install_plugin(root: Path) -> None:
    plugins = root / "wp-content" / "plugins"
    with zipfile.ZipFile(plugin_zip()) as archive:  # always the zip: what a site installs is what is tested
        archive.extractall(plugins)
    if not (plugins / PLUGIN).exists():
        raise StartFailed(f"the plugin's zip has no {PLUGIN}")


def _setup_code(port: int) -> str:
    users = "\n".join(f"""
$id = wp_insert_user( array( 'user_login' => '{login}', 'user_pass' => $pw['{login}'], 'role' => '{role}',
    'user_email' => '{login}@news.example', 'display_name' => '{login}' ) );
if ( is_wp_error( $id ) ) {{ fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }}
$out['users']['{login}'] = array( 'id' => $id );""" for login, role in (
        ("editor", "editor"), ("socialbot", "editor"), ("subscriber", "subscriber")))
    return f"""
$base = 'http://127.0.0.1:{port}';
update_option( 'siteurl', $base );
update_option( 'home', $base );
update_option( 'WPLANG', 'ar' );
update_option( 'permalink_structure', '' );
update_option( 'timezone_string', 'Asia/Baghdad' );
update_option( 'show_avatars', 0 ); // no gravatar.com in the browser tests
$pw = json_decode( stream_get_contents( STDIN ), true );
$out = array( 'users' => array( 'admin' => array( 'id' => 1 ) ), 'categories' => array() );
{users}
foreach ( $out['users'] as $login => $u ) {{
    list( $app ) = WP_Application_Passwords::create_new_application_password( $u['id'], array( 'name' => 'tests' ) );
    $out['users'][ $login ]['app'] = $app;
}}
foreach ( array( {', '.join(_php_string(c) for c in CATEGORIES)} ) as $name ) {{
    $term = wp_insert_term( $name, 'category' );
    if ( is_wp_error( $term ) ) {{ fwrite( STDERR, $term->get_error_message() ); exit( 1 ); }}
    $out['categories'][ $name ] = $term['term_id'];
}}
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$done = activate_plugin( '{PLUGIN}' );
if ( is_wp_error( $done ) ) {{ fwrite( STDERR, 'activating the plugin: ' . $done->get_error_message() ); exit( 1 ); }}
echo wp_json_encode( $out );
"""


def start_wordpress(url: str | None = None, secret: str | None = None) -> WordPress:
    """A fresh WordPress, installed and serving on 127.0.0.1 (``close()`` it). ``url``/``secret``: the
    WP_SOCIAL_BOT_URL/SECRET constants to write into wp-config.php (None: not defined)."""
    import json

    work = Path(tempfile.mkdtemp(prefix="wp-"))
    port = _free_port()
    root = work / "wordpress"
    wp = WordPress(f"http://127.0.0.1:{port}", root, work)
    try:
        server, sock = _mariadb(work)
        wp.processes.append(server)
        _run("copying WordPress", ["cp", "-aL", str(WORDPRESS), str(root)])
        (root / ".htaccess").unlink(missing_ok=True)
        (root / "wp-config.php").write_text(_config(sock, work, url, secret))
        (root / "wp-content" / "mu-plugins").mkdir(exist_ok=True)
        _install_plugin(root)
        install = work / "install.php"
        install.write_text(f"""<?php
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST'] = '127.0.0.1:{port}';
require {_php_string(str(root / 'wp-load.php'))};
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$r = wp_install( {_php_string(TITLE)}, 'admin', 'admin@news.example', true, '', $argv[1], 'ar' );
if ( is_wp_error( $r ) ) {{ fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }}
""")
        passwords = {name: secrets.token_urlsafe(12) for name in ("admin", "editor", "socialbot", "subscriber")}
        _run("installing WordPress", ["php", str(install), passwords["admin"]], root / "wp-content" / "debug.log",
             cwd=root)
        setup = json.loads(wp.php(_setup_code(port), stdin=json.dumps(passwords)))
        for login, u in setup["users"].items():
            wp.users[login] = User(login, passwords[login], u["app"], int(u["id"]))
        wp.categories = {name: int(i) for name, i in setup["categories"].items()}
        wp.processes.append(_serve(wp, port))
        return wp
    except BaseException:
        wp.close()
        raise


def _serve(wp: WordPress, port: int) -> subprocess.Popen[bytes]:
    router = wp.work / "router.php"
    router.write_text(ROUTER)
    errors, log = wp.work / "php-errors.log", wp.work / "php-server.log"
    env = dict(os.environ, PHP_CLI_SERVER_WORKERS="4")
    with open(log, "ab") as out:
        server = subprocess.Popen(
            ["php", "-d", f"error_log={errors}", "-d", "log_errors=1", "-d", "display_errors=0", "-d",
             "memory_limit=256M", "-d", "opcache.revalidate_freq=0", "-S", f"127.0.0.1:{port}", "-t", str(wp.root),
             str(router)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=wp.root, start_new_session=True)
    deadline = time.monotonic() + PATIENCE
    while True:
        status = None
        with contextlib.suppress(requests.RequestException):
            status = requests.get(wp.base + "/?feed=rss2", timeout=10).status_code
        if status == 200:
            return server
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise StartFailed(f"php -S did not serve /?feed=rss2 (status {status}, exit {server.poll()}):\n"
                              f"{_tail(log)}\n{_tail(errors)}")
        time.sleep(0.1)


def wordpress_fixture() -> Iterator[WordPress]:
    """A fixture's body: skip (or fail) where WordPress cannot run, else one WordPress, closed afterwards."""
    skip_or_fail()
    wp = start_wordpress()
    try:
        yield wp
    finally:
        wp.close()
