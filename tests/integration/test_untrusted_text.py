# SPDX-License-Identifier: LGPL-2.1-or-later
"""Text from outside groupd that is not UTF-8, on D-Bus.

The kernel takes any byte in an interface name but '/', ':', whitespace and
NUL; file names are bytes; the kernel's messages quote names. D-Bus strings
must be valid UTF-8, so groupd shows such text by one rule (text/text.h,
groupd-dbus(7)): a byte that is not part of valid UTF-8 is written \\xNN, a
backslash \\\\. Every case here is read by uid 65534 too (reads are open to
everyone), and groupd must stay up, log no GLib critical (the fixture checks)
and take the shown form back as the name of the real link.

`ip -j` prints such names as their bytes: the kernel's view is read here
with those bytes kept (surrogateescape), not with gdlib's text helpers.
"""

import json
import subprocess
import time

import gdlib
from test_groupctl import Ctl

BAD = b"bad\xff\xfe"          # not UTF-8
BAD_SHOWN = "bad\\xff\\xfe"
LITERAL = b"lit\\xff"          # ASCII: a backslash, x, f, f
LITERAL_SHOWN = "lit\\\\xff"
BYTE = b"lit\xff"              # the byte that LITERAL spells
BYTE_SHOWN = "lit\\xff"
NONCHAR = b"nc\xef\xbf\xbf"    # U+FFFF: valid for GLib, refused by sd-bus
NONCHAR_SHOWN = "nc\\xef\\xbf\\xbf"
ESC = b"esc\x1b[7m"            # a terminal escape sequence
NOBODY = gdlib.NOBODY


def shown(raw: bytes) -> str:
    """The rule of text/text.h, written again independently."""
    out, i = [], 0
    while i < len(raw):
        ok = None
        for n in (1, 2, 3, 4):
            try:
                ch = raw[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            cp = ord(ch)
            if not (0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE):
                ok = ch
            break
        if ok is None:
            out.append(f"\\x{raw[i]:02x}")
            i += 1
        elif ok == "\\":
            out.append("\\\\")
            i += 1
        else:
            out.append(ok)
            i += len(ok.encode())
    return "".join(out)


def test_rule_as_written_here():
    assert shown(BAD) == BAD_SHOWN
    assert shown(LITERAL) == LITERAL_SHOWN
    assert shown(BYTE) == BYTE_SHOWN
    assert shown(NONCHAR) == NONCHAR_SHOWN
    assert shown("café".encode()) == "café"


def ip_bytes(netns, *args, check=True):
    proc = subprocess.run([b"ip", b"-n", netns.name.encode(),
                           *[a if isinstance(a, bytes) else str(a).encode() for a in args]],
                          capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise gdlib.CommandError(f"ip {args!r}: {proc.returncode}: {proc.stderr!r}")
    return proc.stdout


def kernel_links(netns):
    """ifname (bytes) → `ip -j -d link` entry."""
    out = ip_bytes(netns, "-j", "-d", "link", "show").decode("utf-8", "surrogateescape")
    # ip prints control characters in names as they are: strict=False.
    return {l["ifname"].encode("utf-8", "surrogateescape"): l for l in json.loads(out, strict=False)}


def add_link(netns, name, kind="ifb", group=None):
    args = ["link", "add", name]
    if group is not None:
        args += ["group", str(group)]
    ip_bytes(netns, *args, "type", kind)


def expected_list(netns):
    """What ListLinks must return: the kernel's links, names shown by the rule."""
    return sorted((l["ifindex"], shown(raw), gdlib.group_id(l["group"]), l["mtu"],
                   l["operstate"].lower()) for raw, l in kernel_links(netns).items())


def assert_list_matches(netns, client):
    got = client.list_links()
    assert got == expected_list(netns), f"ListLinks: {got}\nkernel: {expected_list(netns)}"


def test_names_not_utf8_at_start_and_read_by_nobody(netns, groupd_factory):
    """The links exist when groupd starts; uid 65534 lists and reads them."""
    for name in (BAD, LITERAL, BYTE, NONCHAR, ESC):
        add_link(netns, name, group=100)
    daemon = groupd_factory()
    nobody = gdlib.Client(daemon.client.address, uid=NOBODY)
    for _ in range(3):  # every read again: nothing kills it the second time
        assert_list_matches(netns, nobody)
    kernel = kernel_links(netns)
    for raw in (BAD, LITERAL, BYTE, NONCHAR, ESC):
        link = nobody.get_link(shown(raw))
        assert link["Name"] == shown(raw)
        assert link["Index"] == kernel[raw]["ifindex"], raw
        assert link["Kind"] == "ifb"
    # The two spellings of lit\xff are two links.
    assert nobody.get_link(LITERAL_SHOWN)["Index"] != nobody.get_link(BYTE_SHOWN)["Index"]
    # A group's Members and the managed objects carry the shown names.
    members = nobody.group_property(100, "Members")
    assert sorted(members) == sorted(shown(n) for n in (BAD, LITERAL, BYTE, NONCHAR, ESC))
    objects = nobody.managed_objects()
    assert sorted(objects[gdlib.GROUP_PATH_PREFIX + "100"][gdlib.GROUP_IFACE]["Members"]) == \
        sorted(members)
    assert daemon.alive()


def test_shown_name_acts_on_the_real_link(netns, groupd_factory):
    """SetLinkGroup and GetLink take the shown form; a malformed one is no link."""
    add_link(netns, BAD)
    add_link(netns, LITERAL)
    add_link(netns, BYTE)
    daemon = groupd_factory()
    c = daemon.client
    assert c.set_link_group([BAD_SHOWN, BYTE_SHOWN], "200") == 2
    kernel = kernel_links(netns)
    assert gdlib.group_id(kernel[BAD]["group"]) == 200
    assert gdlib.group_id(kernel[BYTE]["group"]) == 200
    assert gdlib.group_id(kernel[LITERAL]["group"]) == 0
    assert c.get_link(BAD_SHOWN)["Group"] == 200
    assert c.set_link_group([LITERAL_SHOWN], "300") == 1
    assert gdlib.group_id(kernel_links(netns)[LITERAL]["group"]) == 300
    # The bytes as the caller would type them without the rule: no link.
    message = c.expect_error("NoSuchLink", "GetLink", gdlib.gv_str("bad\\xff\\xfe\\"))
    assert "no such link" in message
    for bad in ("bad\\xZZ", "bad\\x00", "bad\\q", "bad\\"):
        c.expect_error("NoSuchLink", "GetLink", gdlib.gv_str(bad))
    message = c.expect_error("NoSuchLink", "SetLinkGroup", gdlib.gv_strv(["bad\\xfe\\xff"]),
                             "'200'")
    # The error quotes the name in its shown form, as the caller wrote it.
    assert '"bad\\xfe\\xff"' in message, message
    assert_list_matches(netns, c)


def test_hotplug_rename_and_signals(netns, groupd_factory, workdir):
    """A link that appears, is renamed and moves while groupd runs: LinksChanged
    and the group objects carry shown names."""
    daemon = groupd_factory()
    c = daemon.client
    with gdlib.Monitor(c.address, workdir) as mon:
        add_link(netns, BAD, group=100)
        gdlib.wait_for(lambda: any(l[1] == BAD_SHOWN for l in c.list_links()), 10,
                       what="the new link in ListLinks")
        gdlib.wait_for(lambda: any(l[1] == BAD_SHOWN
                                   for l in gdlib.changed_links(mon.signals())), 10,
                       what="the new link in LinksChanged")
        ip_bytes(netns, "link", "set", "dev", BAD, "name", b"ren\xc3\x28")
        gdlib.wait_for(lambda: any(l[1] == "ren\\xc3(" for l in c.list_links()), 10,
                       what="the renamed link in ListLinks")
        mon.settle()
        names = [l[1] for l in gdlib.changed_links(mon.signals())]
    assert BAD_SHOWN in names and "ren\\xc3(" in names, names
    assert c.group_property(100, "Members") == ["ren\\xc3("]
    assert_list_matches(netns, gdlib.Client(c.address, uid=NOBODY))
    assert daemon.alive()


def test_kernel_refusal_quotes_names(netns, groupd_factory):
    """A change the kernel refuses part of names the members in its error:
    the names are shown by the rule. The ifb (no MTU maximum) takes 70000,
    then the veth ends (maximum 65535) refuse it; --test-skip-validation
    lets the change reach the kernel."""
    add_link(netns, BAD, group=100)
    ip_bytes(netns, "link", "add", b"vbad\xfe", "group", "100", "type", "veth", "peer", "name",
             b"vpeer", "group", "100")
    daemon = groupd_factory("--test-skip-validation")
    got, message = daemon.client.gdbus("SetGroup", "'100'", "{'MTU': <uint32 70000>}",
                                       "@a{sv} {}")
    assert got == gdlib.ERROR_PREFIX + "PartiallyApplied", message
    assert BAD_SHOWN in message and "vbad\\xfe" in message, message
    group = daemon.client.group_properties(100)
    assert BAD_SHOWN in group["Members"] and "vbad\\xfe" in group["Members"]
    assert_list_matches(netns, daemon.client)


def test_group_file_name_not_utf8(netns, groupd_factory, workdir):
    """A *.group file whose name is not UTF-8: its policy works, Policy shows
    File in the shown form, a reload keeps it, the plan is valid JSON."""
    add_link(netns, b"pol0")
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    raw_name = b"50-caf\xe9.group"
    path = bytes(root.dir("admin")) + b"/" + raw_name
    with open(path, "wb") as f:
        f.write(gdlib.policy_text(gid=300, name="cafe", match={"Name": "pol*"}, mtu=1400).encode())
    daemon = groupd_factory(config_root=root)
    gdlib.wait_for(lambda: gdlib.group_id(kernel_links(netns)[b"pol0"]["group"]) == 300, 10,
                   what="pol0 in group 300")
    nobody = gdlib.Client(daemon.client.address, uid=NOBODY)
    policy = gdlib.group_policy(nobody, 300)
    assert policy["File"] == shown(path), policy
    assert policy["File"].endswith("/50-caf\\xe9.group")
    plan = gdlib.get_plan(nobody)
    assert gdlib.plan_group(plan, 300)["name"] == "cafe"
    gdlib.reload(daemon.client)
    assert gdlib.group_policy(nobody, 300)["File"] == shown(path)
    # A second file with a name that is not UTF-8 and an error in it: the
    # reload is refused, and the message names the file in its shown form.
    with open(bytes(root.dir("admin")) + b"/60-\xff.group", "wb") as f:
        f.write(b"[Group]\nId=oops\n")
    got, message = gdlib.reload_error(daemon.client)
    assert got == gdlib.ERROR_PREFIX + "InvalidArgs", message
    assert "/60-\\xff.group" in message, message
    assert gdlib.group_policy(nobody, 300)["File"] == shown(path)


def test_iproute2_group_name_not_utf8(netns, groupd_factory, workdir):
    """A line of /etc/iproute2/group whose name is not UTF-8 is skipped (ip
    would not take it either); the other names still work."""
    add_link(netns, b"g0", group=150)
    add_link(netns, b"g1", group=151)
    root = gdlib.ConfigRoot(workdir)
    root.daemon_conf()
    root.iproute2_path.parent.mkdir(parents=True, exist_ok=True)
    root.iproute2_path.write_bytes(b"0\tdefault\n150\tcaf\xe9\n151\tgood\n")
    daemon = groupd_factory(config_root=root)
    nobody = gdlib.Client(daemon.client.address, uid=NOBODY)
    groups = {g[0]: g[1] for g in nobody.list_groups()}
    assert groups[150] == "" and groups[151] == "good", groups
    assert nobody.get_link("g1")["GroupName"] == "good"
    assert daemon.client.set_link_group(["g0"], "good") == 1


def test_groupctl_shows_and_takes_raw_names(netns, groupd_factory):
    """groupctl prints shown names, escapes control characters for the
    terminal, and takes a name typed as its bytes."""
    add_link(netns, BAD, group=100)
    add_link(netns, ESC, group=100)
    daemon = groupd_factory()
    ctl = Ctl(daemon.client.address, netns)
    out = ctl.out("links", "100")
    assert BAD_SHOWN in out, out
    assert "esc\\x1b[7m" in out and "\x1b[7m" not in out, repr(out)
    show = ctl.out("show", "100")
    assert BAD_SHOWN in show and "\x1b" not in show, repr(show)
    data = ctl.json("links", "100")
    assert sorted(l["Name"] for l in data["Links"]) == sorted([BAD_SHOWN, "esc\x1b[7m"])
    # A name typed as its bytes, and as its shown form.
    proc = subprocess.run([*map(str.encode, ctl.cmd("join", "200")), BAD], capture_output=True)
    assert proc.returncode == 0, proc
    assert gdlib.group_id(kernel_links(netns)[BAD]["group"]) == 200
    ctl.run("join", "300", "esc\\x1b[7m")
    assert gdlib.group_id(kernel_links(netns)[ESC]["group"]) == 300
    # An error that quotes a name: shown, without the escape sequence.
    err = ctl.run("join", "300", "nosuch\\x1b[2J", rc=1).stderr
    assert "nosuch\\x1b[2J" in err and "\x1b[2J" not in err, repr(err)


def test_mptcp_endpoint_on_a_link_not_utf8(netns, groupd_factory, workdir):
    """An MPTCP endpoint on a member whose name is not UTF-8: Mptcp.Endpoints
    shows the interface by the rule (made valid in src/bus/mptcp-object.c)."""
    ip_bytes(netns, "link", "add", BAD, "type", "veth", "peer", "name", b"peer0")
    ip_bytes(netns, "link", "set", BAD, "up")
    ip_bytes(netns, "link", "set", b"peer0", "up")
    ip_bytes(netns, "addr", "add", "10.77.0.1/24", "dev", BAD)
    root = gdlib.ConfigRoot(workdir)
    root.write_conf("[MPTCP]\nMode=aggregate\n")
    root.write_group("10-m.group", "[Group]\nId=10\nName=m\n[Match]\nName=bad*\n"
                                   "[MPTCP]\nEndpoint=subflow\n")
    daemon = groupd_factory(config_root=root)
    nobody = gdlib.Client(daemon.client.address, uid=NOBODY)

    def endpoints():
        return nobody.get_property("/net/groupd1/mptcp", "net.groupd1.Mptcp", "Endpoints")

    eps = gdlib.wait_for(lambda: [e for e in endpoints() if e[1] == "10.77.0.1"], 20,
                         what="the endpoint of 10.77.0.1")
    assert eps[0][2] == BAD_SHOWN, eps
    # Every property reads (GetAll would fail on one string that is not UTF-8).
    props = nobody.call("GetAll", "s", "net.groupd1.Mptcp", path="/net/groupd1/mptcp",
                        iface="org.freedesktop.DBus.Properties")[0]
    assert BAD_SHOWN in [e[2] for e in props["Endpoints"]["data"]]
    assert daemon.alive()
