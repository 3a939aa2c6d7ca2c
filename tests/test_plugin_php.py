"""The companion WordPress plugin's files, without a WordPress: every PHP file parses (``php -l``), the plugin
header and readme.txt carry what WordPress.org requires, the Arabic .mo is the .po compiled (in the layout
WordPress's own MO reader accepts) and translates every string the PHP shows, ``make plugin-zip`` builds an
installable zip, no file holds a real-looking secret, and every script parses (``node --check``).

PHP and node are Debian's; where absent their checks skip, unless ``BOT_TEST_WORDPRESS=required`` (CI)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.kit.paths import ROOT

PLUGIN = ROOT / "wordpress" / "wp-social-bot"
LANGUAGES = PLUGIN / "languages"
DOMAIN = "wp-social-bot"
#: The gettext functions WordPress has, with the position of the text and (for the _x family) of the context.
CALL = re.compile(
    r"\b(?P<fn>__|_e|esc_html__|esc_attr__|esc_html_e|esc_attr_e|_x|_ex|esc_html_x|esc_attr_x)\(\s*"
    r"'(?P<text>(?:[^'\\]|\\.)*)'\s*,\s*(?:'(?P<ctx>(?:[^'\\]|\\.)*)'\s*,\s*)?'(?P<domain>[^']*)'\s*\)"
)
#: What a real secret tends to look like: a known token prefix, a private key, a Telegram bot token.
SECRETISH = re.compile(
    r"(sk-[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{30,}|xox[abp]-[A-Za-z0-9-]{20,}|AKIA[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|\b[0-9]{8,10}:[A-Za-z0-9_-]{35}\b)"
)
#: A long unbroken run, which is a secret when it mixes capitals, small letters and digits as random text does.
RUN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")


def random_looking(run: str) -> bool:
    """Whether a run of characters looks random (capitals, small letters and digits all in it), not a path."""
    return all(re.search(kind, run) for kind in ("[A-Z]", "[a-z]", "[0-9]"))


def tool(name: str) -> str:
    """The path of a command, or skip (fail under BOT_TEST_WORDPRESS=required) when it is not installed."""
    found = shutil.which(name)
    if not found:
        reason = f"{name} is not installed (Debian's {'php-cli' if name == 'php' else 'nodejs'})"
        if os.environ.get("BOT_TEST_WORDPRESS") == "required":
            pytest.fail(f"{reason}, and BOT_TEST_WORDPRESS=required")
        pytest.skip(reason)
    return found


def files(*suffixes: str) -> list[Path]:
    """The plugin's files ending in one of ``suffixes``."""
    return sorted(p for p in (ROOT / "wordpress").rglob("*") if p.is_file() and p.name.endswith(suffixes))


def unquote(text: str) -> str:
    """A single-quoted PHP string's value."""
    return text.replace("\\'", "'").replace("\\\\", "\\")


def used_strings() -> set[tuple[str | None, str]]:
    """Every (context, text) the plugin's PHP translates with its own text domain."""
    found = set()
    for path in files(".php"):
        for call in CALL.finditer(path.read_text(encoding="utf-8")):
            if call["domain"] != DOMAIN:
                continue
            context = unquote(call["ctx"]) if call["ctx"] is not None and call["fn"].endswith("x") else None
            found.add((context, unquote(call["text"])))
    return found


def header(path: Path) -> dict[str, str]:
    """The ``Name: value`` fields of a plugin header or a readme's head."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[:40]:
        match = re.match(r"^[\s*#@]*([A-Z][A-Za-z ]+):\s*(.+?)\s*$", line)
        if match:
            fields.setdefault(match[1].strip(), match[2])
    return fields


def test_every_php_file_parses() -> None:
    php = tool("php")
    paths = files(".php")
    assert len(paths) >= 8, paths
    for path in paths:
        run = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr


def test_every_php_file_refuses_to_run_outside_wordpress() -> None:
    for path in files(".php"):
        assert "defined( 'ABSPATH' ) || exit;" in path.read_text(encoding="utf-8"), path


def test_the_plugin_header_has_what_wordpress_needs() -> None:
    fields = header(PLUGIN / "wp-social-bot.php")
    assert fields["Plugin Name"] == "WP Social Bot"
    assert fields["Version"] == "0.1.0"
    assert fields["Requires at least"] == "6.1"
    assert fields["Requires PHP"] == "7.4"
    assert fields["License"].startswith("GPL-2.0")
    assert fields["License URI"].startswith("https://www.gnu.org/licenses/")
    assert fields["Text Domain"] == DOMAIN
    assert fields["Domain Path"] == "/languages"
    assert fields["Description"]


def test_the_readme_has_wordpress_orgs_fields_and_sections() -> None:
    text = (PLUGIN / "readme.txt").read_text(encoding="utf-8")
    assert text.startswith("=== WP Social Bot ===")
    fields = header(PLUGIN / "readme.txt")
    for name in ("Contributors", "Tags", "Requires at least", "Tested up to", "Requires PHP", "Stable tag",
                 "License", "License URI"):
        assert fields.get(name), name
    assert fields["Stable tag"] == header(PLUGIN / "wp-social-bot.php")["Version"]
    assert fields["Requires at least"] == "6.1" and fields["Requires PHP"] == "7.4"
    for section in ("Description", "Installation", "Frequently Asked Questions", "Changelog"):
        assert f"\n== {section} ==\n" in text, section
    assert "wp-config.php" in text and "WP_SOCIAL_BOT_SECRET" in text


def test_the_mo_is_the_po_compiled() -> None:
    with (LANGUAGES / "wp-social-bot-ar.po").open("rb") as f:
        po = {(m.context, m.id): m.string for m in read_po(f) if m.id}
    with (LANGUAGES / "wp-social-bot-ar.mo").open("rb") as f:
        mo = {(m.context, m.id): m.string for m in read_mo(f) if m.id}
    assert po and mo == po


def test_the_mo_is_laid_out_as_wordpress_reads_it() -> None:
    # WordPress 6.1's MO reader (wp-includes/pomo/mo.php) wants the hash table's address right after the two
    # string tables; pybabel's compile writes 0 there and WordPress then reads nothing (msgfmt is used).
    raw = (LANGUAGES / "wp-social-bot-ar.mo").read_bytes()
    magic, revision, total, originals, translations, _hash_size, hash_at = struct.unpack("<7I", raw[:28])
    assert magic == 0x950412DE and revision == 0
    assert translations - originals == total * 8
    assert hash_at - translations == total * 8


def test_every_string_the_php_shows_has_an_arabic_translation() -> None:
    with (LANGUAGES / "wp-social-bot-ar.po").open("rb") as f:
        arabic = {(m.context, m.id): m.string for m in read_po(f) if m.id}
    used = used_strings()
    assert len(used) > 40
    missing = sorted(text for key in used if not arabic.get(key) for _, text in [key])
    assert not missing, missing
    assert arabic[(None, "Social")] == "النشر على الشبكات"
    for _, string in arabic.items():
        assert re.search("[\u0600-\u06ff]", str(string)) or str(string) == "WP Social Bot", string


def test_the_pot_holds_every_string() -> None:
    with (LANGUAGES / "wp-social-bot.pot").open("rb") as f:
        template = {(m.context, m.id) for m in read_po(f) if m.id}
    assert used_strings() <= template


def test_the_zip_target_builds_an_installable_zip() -> None:
    run = subprocess.run(["make", "-s", "plugin-zip", f"PYTHON={sys.executable}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    with zipfile.ZipFile(ROOT / "dist" / "wp-social-bot.zip") as archive:
        names = archive.namelist()
    assert names and all(name.startswith("wp-social-bot/") for name in names), names
    for needed in ("wp-social-bot.php", "readme.txt", "uninstall.php", "languages/wp-social-bot-ar.mo",
                   "assets/panel.js", "assets/classic.js"):
        assert f"wp-social-bot/{needed}" in names, needed


def test_no_file_holds_a_real_looking_secret() -> None:
    for path in files(".php", ".js", ".css", ".txt", ".po", ".pot"):
        text = path.read_text(encoding="utf-8")
        found = SECRETISH.findall(text) + [run for run in RUN.findall(text) if random_looking(run)]
        assert not found, (path, found)


def test_every_script_parses() -> None:
    node = tool("node")
    scripts = files(".js")
    assert len(scripts) >= 2
    for path in scripts:
        run = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr


def test_the_styles_are_written_for_both_directions() -> None:
    css = (PLUGIN / "assets" / "panel.css").read_text(encoding="utf-8")
    assert not re.search(r"\b(left|right)\b", css), "use logical properties (inline-start/end), not left/right"
