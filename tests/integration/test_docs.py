# SPDX-License-Identifier: LGPL-2.1-or-later
"""The manual pages in man/ against the code they describe.

No root, no namespace, no daemon: reads the sources and runs scdoc and
man/dbus2scd.py. Fails when
  - a D-Bus interface, method, argument, signal or property of dbus/*.xml,
    or a net.groupd1.Error.* name of the XML or of src/bus/errors.c, is
    missing from groupd-dbus(7) (generated from the XML by man/dbus2scd.py);
  - a section or key of the configuration's key tables (src/config/keys.c,
    printed by the build's `test-config --dump-config-keys`) is not
    documented in its section of groupd.conf(5) / groupd.group(5), or a
    documented key is not in them; or a key's entry does not give the
    table's range, words or default; or data/examples/groupd.conf does not
    list every groupd.conf key at its default;
  - a visible long option of groupd (src/daemon/main.c) is missing from
    groupd(8), or groupd(8) documents one that does not exist;
  - a command or long option of groupctl is missing from groupctl(1);
  - a page does not compile with scdoc, or man/meson.build does not build it.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAN = REPO / "man"
DBUS_XML = sorted((REPO / "dbus").glob("net.groupd1.*.xml"))
STATIC_PAGES = ["groupd.8.scd", "groupctl.1.scd", "groupd.conf.5.scd", "groupd.group.5.scd"]
DBUS_TEMPLATE = MAN / "groupd-dbus.7.scd.in"
DBUS_GENERATOR = MAN / "dbus2scd.py"

# The commands and options groupctl must offer at least; checked in
# addition to whatever src/groupctl/ declares.
GROUPCTL_VERBS = ["status", "list", "links", "show", "set", "join", "address", "reload",
                  "plan", "monitor"]
GROUPCTL_OPTIONS = ["json", "no-pager", "no-legend", "address", "force", "dry-run", "count"]


def read(path):
    return Path(path).read_text(encoding="utf-8")


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", re.sub(r"//[^\n]*", "", text), flags=re.S)


def scdoc_plain(scd):
    """scd source with scdoc's escapes and markup removed, for searching."""
    text = re.sub(r"\\(.)", r"\1", scd)
    return text.replace("*", "").replace("_", "")


@pytest.fixture(scope="module")
def scdoc():
    path = shutil.which("scdoc")
    if path is None:
        pytest.fail("scdoc is not installed (apt-get install scdoc; tools/install-deps.sh)",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def dbus_scd():
    """groupd-dbus.7.scd as the build generates it."""
    r = subprocess.run([sys.executable, str(DBUS_GENERATOR), str(DBUS_TEMPLATE),
                        *map(str, DBUS_XML)], capture_output=True, text=True)
    assert r.returncode == 0, f"dbus2scd.py failed:\n{r.stderr}"
    return r.stdout


# ---- the sources' facts ----

def dbus_api():
    """{interface: {"method": {name: [(arg, type, direction)]}, "signal": …, "property": {name: type}}}"""
    api = {}
    assert DBUS_XML, "no dbus/net.groupd1.*.xml"
    for path in DBUS_XML:
        for iface in ET.parse(path).getroot().iter("interface"):
            entry = api.setdefault(iface.get("name"), {"method": {}, "signal": {}, "property": {}})
            for tag in ("method", "signal"):
                for el in iface.findall(tag):
                    entry[tag][el.get("name")] = [
                        (a.get("name"), a.get("type"), a.get("direction"))
                        for a in el.findall("arg")]
            for el in iface.findall("property"):
                entry["property"][el.get("name")] = el.get("type")
    return api


def error_names():
    names = set()
    for path in DBUS_XML:
        names |= set(re.findall(r"net\.groupd1\.Error\.[A-Za-z]+", read(path)))
    from_c = set(re.findall(r'"(net\.groupd1\.Error\.[A-Za-z]+)"',
                            strip_c_comments(read(REPO / "src/bus/errors.c"))))
    assert from_c, "no net.groupd1.Error.* names found in src/bus/errors.c"
    return names, from_c


def config_keys_program():
    """The unit test program that prints the key tables: TEST_CONFIG_BIN
    (meson sets it), else next to GROUPD_BIN's build tree."""
    if os.environ.get("TEST_CONFIG_BIN"):
        return Path(os.environ["TEST_CONFIG_BIN"])
    groupd = Path(os.environ.get("GROUPD_BIN", REPO / "build" / "src" / "groupd"))
    return groupd.resolve().parents[1] / "tests" / "unit" / "test-config"


def config_keys():
    """The key tables as the code has them: one dict per key with file
    ("groupd.conf", "*.group"), section, key, type, min, max, default,
    words (a list) and repeats."""
    program = config_keys_program()
    if not program.exists():
        pytest.fail(f"{program} does not exist: build first (meson compile -C build), "
                    "or set TEST_CONFIG_BIN", pytrace=False)
    r = subprocess.run([str(program), "--dump-config-keys"], capture_output=True, text=True)
    assert r.returncode == 0, f"{program} --dump-config-keys failed:\n{r.stderr}"
    keys = list(csv.DictReader(r.stdout.splitlines(), delimiter="\t"))
    for k in keys:
        k["min"], k["max"] = int(k["min"]), int(k["max"])
        k["words"] = k["words"].split()
        k["repeats"] = k["repeats"] == "repeats"
    # Sanity: the known shape (so that the test cannot pass vacuously).
    sections = {(k["file"], k["section"]) for k in keys}
    assert {("groupd.conf", "Daemon"), ("groupd.conf", "MPTCP"), ("*.group", "Group"),
            ("*.group", "Match"), ("*.group", "Link"), ("*.group", "Address"),
            ("*.group", "MPTCP")} == sections, sections
    assert len(keys) >= 30, keys
    return keys


def groupd_options():
    """(visible, hidden) long options of main.c's GOptionEntry table."""
    src = strip_c_comments(read(REPO / "src/daemon/main.c"))
    m = re.search(r"GOptionEntry\s+\w+\s*\[\]\s*=\s*\{(.*?)\n\s*\};", src, re.S)
    assert m, "the GOptionEntry table not found in src/daemon/main.c"
    visible, hidden = [], []
    for long_name, short, flags in re.findall(
            r'\{\s*"([^"]+)"\s*,\s*([^,]+),\s*([^,]+),', m.group(1)):
        (hidden if "G_OPTION_FLAG_HIDDEN" in flags else visible).append(
            (long_name, short.strip()))
    assert len(visible) >= 5, visible
    return visible, hidden


def groupctl_source():
    path = REPO / "src/groupctl/groupctl.c"
    if not path.exists():
        return [], []
    src = strip_c_comments(read(path))
    verbs, options = [], []
    m = re.search(r"\bverbs\s*\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if m:
        verbs = re.findall(r'\{\s*"([a-z-]+)"\s*,', m.group(1))
    m = re.search(r"struct\s+option\s+\w+\s*\[\]\s*=\s*\{(.*?)\};", src, re.S)
    if m:
        options = re.findall(r'\{\s*"([a-z-]+)"\s*,', m.group(1))
    return verbs, options


# ---- the pages' facts ----

def sections_of(scd):
    """{heading: text} for every "# " / "## " heading of an scd source."""
    out, heading, lines = {}, None, []
    for line in scd.splitlines():
        if re.match(r"#{1,2} ", line):
            if heading is not None:
                out[heading] = "\n".join(lines)
            heading, lines = line.lstrip("#").strip(), []
        elif heading is not None:
            lines.append(line)
    if heading is not None:
        out[heading] = "\n".join(lines)
    return out


def key_section(scd, section):
    """The text of the page's "[Section] SECTION" heading."""
    for heading, text in sections_of(scd).items():
        if heading.startswith(f"[{section}]"):
            return text
    return None


def documented_keys(text):
    """Keys a page section documents: its definition-list items, "*Key=*" at
    the start of a line."""
    return set(re.findall(r"^\*([A-Za-z][A-Za-z0-9]*)=\*", text, re.M))


def key_entries(text):
    """{key: its entry}: the "*Key=*" line and the indented lines (and blank
    lines) under it."""
    entries, key = {}, None
    for line in text.splitlines():
        m = re.match(r"^\*([A-Za-z][A-Za-z0-9]*)=\*$", line)
        if m:
            key = m.group(1)
            entries[key] = []
        elif key and (line.startswith("\t") or not line.strip()):
            entries[key].append(line)
        else:
            key = None
    return {k: "\n".join(v) for k, v in entries.items()}


# ---- tests ----

def test_meson_builds_every_page():
    build = read(MAN / "meson.build")
    for page in STATIC_PAGES:
        name, section = page[: -len(".scd")].rsplit(".", 1)
        assert f"['{name}', '{section}']" in build, f"man/meson.build does not build {page}"
    assert "dbus2scd.py" in build and "groupd-dbus.7.scd.in" in build
    assert "find_program('scdoc', required: true)" in build
    pages = {p.name for p in MAN.glob("*.scd")}
    assert pages == set(STATIC_PAGES), f"pages in man/ not built, or missing: {pages}"
    assert "subdir('man')" in read(REPO / "meson.build")


@pytest.mark.parametrize("page", STATIC_PAGES + ["groupd-dbus.7.scd"])
def test_page_compiles(page, scdoc, dbus_scd, tmp_path):
    source = dbus_scd if page == "groupd-dbus.7.scd" else read(MAN / page)
    r = subprocess.run([scdoc], input=source, capture_output=True, text=True)
    assert r.returncode == 0, f"scdoc refuses {page}: {r.stderr}"
    name, section = page[: -len(".scd")].rsplit(".", 1)
    assert r.stdout.count(f'.TH "{name}" "{section}"') == 1, f"{page}: wrong or missing title"
    for heading in ("NAME", "DESCRIPTION", "SEE ALSO"):
        assert f".SH {heading}" in r.stdout, f"{page}: no {heading} section"
    if shutil.which("man"):
        out = tmp_path / page[: -len(".scd")]
        out.write_text(r.stdout, encoding="utf-8")
        m = subprocess.run(["man", "-l", "--warnings", str(out)], capture_output=True, text=True,
                           env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        assert m.returncode == 0 and not m.stderr.strip(), f"man -l {page}: {m.stderr}"


def test_dbus_api_documented(dbus_scd):
    api = dbus_api()
    assert "net.groupd1.Manager" in api and "net.groupd1.Group" in api, list(api)
    sections = sections_of(dbus_scd)
    missing = []
    for iface, members in api.items():
        if f"INTERFACE {iface}" not in sections:
            missing.append(f"interface {iface}")
            continue
        for tag, title in (("method", "Methods"), ("signal", "Signals"),
                           ("property", "Properties")):
            if not members[tag]:
                continue
            text = sections.get(f"{iface}: {title}")
            if text is None:
                missing.append(f"{iface}: no {title} section")
                continue
            for name, detail in members[tag].items():
                if tag == "property":
                    if not re.search(rf"^\*{name}\* {re.escape(detail)}, ", text, re.M):
                        missing.append(f"property {iface}.{name} ({detail})")
                    continue
                # The signature line shows every argument with its type...
                line = re.search(rf"^\*{name}\*\((.*)$", text, re.M)
                if not line:
                    missing.append(f"{tag} {iface}.{name}")
                    continue
                for arg, type_, _ in detail:
                    if f"_{arg}_ {type_}" not in line.group(1):
                        missing.append(f"{tag} {iface}.{name}: argument {arg} {type_}")
                    # ...and each argument is described.
                    if not re.search(rf"^\t_{arg}_ \({re.escape(type_)}\): \S", text, re.M):
                        missing.append(f"{tag} {iface}.{name}: description of {arg}")
    assert not missing, "groupd-dbus(7) lacks: " + ", ".join(missing)


def test_dbus_errors_documented(dbus_scd):
    from_xml, from_c = error_names()
    errors = sections_of(dbus_scd).get("ERRORS", "")
    described = set(re.findall(r"^\*(net\.groupd1\.Error\.[A-Za-z]+)\*\n\t\S", errors, re.M))
    assert from_c <= from_xml, f"errors.c has errors the XML does not document: {from_c - from_xml}"
    assert not (from_xml | from_c) - described, \
        f"groupd-dbus(7) ERRORS lacks: {sorted((from_xml | from_c) - described)}"
    assert not described - from_c, f"groupd-dbus(7) documents unknown errors: {described - from_c}"


PAGES = {"groupd.conf": ("groupd.conf.5.scd", "groupd.conf(5)"),
         "*.group": ("groupd.group.5.scd", "groupd.group(5)")}


def entry_problems(k, entry):
    """What the entry of key k lacks of the table: its range, its words, its
    default (or it claims one the table does not have)."""
    problems = []
    need = []
    if k["type"] == "boolean":
        need += ["yes", "no"]
    if k["type"] in ("number", "seconds", "size"):
        need += [str(k["min"]), str(k["max"])]
    need += k["words"]
    for word in need:
        if f"*{word}*" not in entry:
            problems.append(f"*{word}* (the table's range or words) not in its entry")
    if k["default"]:
        if not re.search(rf"Default \*{re.escape(k['default'])}\*", entry):
            problems.append(f"\"Default *{k['default']}*\" not in its entry")
    elif "Default *" in entry:
        problems.append("its entry gives a default, the table none")
    return problems


def test_config_keys_documented():
    keys = config_keys()
    problems = []
    for file, (page_file, page_name) in PAGES.items():
        page = read(MAN / page_file)
        listed = [k for k in keys if k["file"] == file]
        sections = dict.fromkeys(k["section"] for k in listed)
        # No section documented that the file does not have.
        for heading in sections_of(page):
            m = re.match(r"\[(\w+)\] SECTION$", heading)
            if m and m.group(1) not in sections:
                problems.append(f"{page_name} documents [{m.group(1)}], which {file} has not")
        for section in sections:
            text = key_section(page, section)
            if text is None:
                problems.append(f"{page_name}: no \"[{section}] SECTION\" heading")
                continue
            accepted = {k["key"] for k in listed if k["section"] == section}
            documented = documented_keys(text)
            for key in sorted(accepted - documented):
                problems.append(f"{page_name}: [{section}] {key}= not documented")
            for key in sorted(documented - accepted):
                problems.append(f"{page_name}: [{section}] {key}= documented, not accepted")
            entries = key_entries(text)
            for k in listed:
                if k["section"] == section and k["key"] in entries:
                    problems += [f"{page_name}: [{section}] {k['key']}=: {p}"
                                 for p in entry_problems(k, entries[k["key"]])]
        # A key that may repeat is named as the exception in SYNTAX.
        syntax = sections_of(page).get("SYNTAX", "")
        for k in listed:
            if k["repeats"] and f"*{k['key']}=*" not in syntax:
                problems.append(f"{page_name}: SYNTAX does not say {k['key']}= may repeat")
    assert not problems, "\n".join(problems)


def test_example_conf_lists_every_key():
    """data/examples/groupd.conf (installed as /etc/groupd/groupd.conf) shows
    every groupd.conf key commented out, at its default."""
    example = read(REPO / "data" / "examples" / "groupd.conf")
    shown, section = {}, None
    for line in example.splitlines():
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        m = re.match(r"^#([A-Za-z][A-Za-z0-9]*)=(.*)$", line)
        if m:
            shown[(section, m.group(1))] = m.group(2)
    keys = {(k["section"], k["key"]): k for k in config_keys() if k["file"] == "groupd.conf"}
    problems = [f"[{s}] {key}= not in the example" for s, key in sorted(keys.keys() - shown.keys())]
    problems += [f"[{s}] {key}= in the example, not a key" for s, key in sorted(shown.keys() - keys.keys())]
    for id_, k in keys.items():
        if k["default"] and shown.get(id_, k["default"]) != k["default"]:
            problems.append(f"[{id_[0]}] {id_[1]}={shown[id_]} in the example, "
                            f"the default is {k['default']}")
    assert not problems, "\n".join(problems)


def test_groupd_options_documented():
    visible, hidden = groupd_options()
    page = read(MAN / "groupd.8.scd")
    options = sections_of(page).get("OPTIONS", "")
    documented = set(re.findall(r"^(?:\*-[a-zA-Z]\*, )?\*--([a-z0-9-]+)\*", options, re.M))
    problems = []
    for name, short in visible:
        if name not in documented:
            problems.append(f"--{name} not in groupd(8) OPTIONS")
        if short not in ("0", "'\\0'") and f"*-{short.strip(chr(39))}*" not in options:
            problems.append(f"-{short} (--{name}) not in groupd(8) OPTIONS")
    known = {n for n, _ in visible} | {"help"}  # GOption adds --help
    for name in sorted(documented - known):
        problems.append(f"groupd(8) documents --{name}, which groupd does not have")
    for name, _ in hidden:
        if f"--{name}" in page:
            problems.append(f"groupd(8) documents the hidden test option --{name}")
    synopsis = scdoc_plain(sections_of(page).get("SYNOPSIS", ""))
    for name, _ in visible:
        if f"--{name}" not in synopsis:
            problems.append(f"--{name} not in groupd(8) SYNOPSIS")
    assert not problems, "\n".join(problems)


def test_groupctl_documented():
    page = read(MAN / "groupctl.1.scd")
    sections = sections_of(page)
    commands = set(re.findall(r"^\*([a-z-]+)\*", sections.get("COMMANDS", ""), re.M))
    options = set(re.findall(r"^(?:\*-[a-zA-Z]\*, )?\*--([a-z0-9-]+)\*",
                             sections.get("OPTIONS", ""), re.M))
    src_verbs, src_options = groupctl_source()
    problems = []
    for verb in sorted(set(GROUPCTL_VERBS) | set(src_verbs)):
        if verb not in commands:
            problems.append(f"command {verb} not in groupctl(1) COMMANDS")
    for opt in sorted(set(GROUPCTL_OPTIONS) | set(src_options)):
        if opt not in options:
            problems.append(f"--{opt} not in groupctl(1) OPTIONS")
    if src_verbs:
        for verb in sorted(commands - set(src_verbs)):
            problems.append(f"groupctl(1) documents command {verb}, which groupctl does not have")
    if src_options:
        for opt in sorted(options - set(src_options)):
            problems.append(f"groupctl(1) documents --{opt}, which groupctl does not have")
    status = sections.get("EXIT STATUS", "")
    for code in ("0", "1", "2", "3"):
        if not re.search(rf"^\*{code}\*$", status, re.M):
            problems.append(f"exit status {code} not in groupctl(1)")
    assert not problems, "\n".join(problems)
