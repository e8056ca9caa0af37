# SPDX-License-Identifier: LGPL-2.1-or-later
"""The guard (src/bus/guard.c): what a D-Bus message can make groupd hold.

GDBus parses a whole body before it checks the signature: a 24 MB GetLink of
3 000 000 empty strings from uid 65534 made groupd go from 8 MB to 500 MB,
and keep 490 MB. The guard reads every message first and refuses one of
more than 2 MiB or 70 000 values, before GDBus sees it; it lets GDBus hold
one large call at a time. Here: the reproduction (one and four senders, on
raw sockets through setpriv, inside the test's namespace), root's refused
1 000 000-name call, the largest valid call still working, and an oversized
signal. The figures are measured by tests/bench/bench-memory.py; here the
memory checks are bounds (32 MB, the issue's), not targets, and are left out
under ASan, whose quarantine keeps freed memory.
"""

import subprocess
import sys
from pathlib import Path

import gdlib
import rawdbus
from test_load import sanitized, vmrss_kib

RAWDBUS = Path(rawdbus.__file__).resolve()
BOUND_KIB = 32 * 1000
REFUSED = "refused before it was read"


def send(netns, address, kind, count, uid=None, senders=1, repeat=1):
    """Runs rawdbus.py senders times at once (as uid); returns [(bytes, reply)]."""
    cmd = netns.exec_cmd()
    if uid is not None:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    cmd += [sys.executable, str(RAWDBUS), "--address", address, "--kind", kind, "--count",
            str(count), "--repeat", str(repeat), "--timeout", "120"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(senders)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, f"client failed: {stderr[-2000:]}"
        size, _, reply = stdout.strip().partition(" ")
        out.append((int(size), reply))
    return out


def check_rss(daemon, before_kib, what):
    if sanitized():
        return
    after = vmrss_kib(daemon.proc.pid)
    assert after - before_kib <= BOUND_KIB, \
        f"{what}: VmRSS {before_kib} → {after} KiB (bound {BOUND_KIB} KiB more)"


def test_wrongly_typed_24mb_getlink_from_nobody(netns, groupd_factory):
    netns.add_ifbs(4, group=100)
    daemon = groupd_factory()
    before = vmrss_kib(daemon.proc.pid)
    for size, reply in send(netns, daemon.client.address, "getlink-empty", 3_000_000,
                            uid=gdlib.NOBODY):
        assert size > 24_000_000
        assert reply.startswith(gdlib.ERROR_PREFIX + "InvalidArgs: GetLink " + REFUSED), reply
        assert "at most 2097152 bytes and 70000 values" in reply, reply
    check_rss(daemon, before, "one 24 MB GetLink")
    # Four at once, five times each.
    replies = send(netns, daemon.client.address, "getlink-empty", 3_000_000, uid=gdlib.NOBODY,
                   senders=4, repeat=5)
    assert all(REFUSED in r for _, r in replies), replies
    check_rss(daemon, before, "20 more from four senders")
    # Still answering everyone, the kernel untouched.
    nobody = gdlib.Client(daemon.client.address, uid=gdlib.NOBODY)
    gdlib.assert_cache_matches_kernel(netns, nobody)
    assert nobody.get_link("ifb0")["Group"] == 100
    assert daemon.alive()


def test_root_million_names_refused(netns, groupd_factory):
    netns.add_ifbs(4)
    daemon = groupd_factory()
    before_state = netns.snapshot()
    before = vmrss_kib(daemon.proc.pid)
    [(size, reply)] = send(netns, daemon.client.address, "setlinkgroup-names", 1_000_000)
    assert size > 12_000_000
    assert reply.startswith(gdlib.ERROR_PREFIX + "InvalidArgs: SetLinkGroup " + REFUSED), reply
    check_rss(daemon, before, "a refused 1 000 000-name SetLinkGroup")
    gdlib.assert_same_snapshot(before_state, netns.snapshot(), "the refused call")
    assert daemon.client.set_link_group(["ifb0"], "100") == 1


def gio_call(address, method, signature, args):
    """A call with GDBus (python3-gi): (None, result) or (error name, message)."""
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    try:
        result = conn.call_sync(gdlib.BUS_NAME, gdlib.MANAGER_PATH, gdlib.MANAGER_IFACE, method,
                                GLib.Variant(signature, args), None, Gio.DBusCallFlags.NONE,
                                120000, None)
        return None, result.unpack()
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e)
        Gio.DBusError.strip_remote_error(e)
        return name, e.message
    finally:
        conn.close_sync(None)


def test_largest_valid_call_passes(netns, groupd_factory):
    """65536 names, the most SetLinkGroup takes (16 links, each named 4096
    times): under the guard's limits, and it moves the links."""
    names = netns.add_ifbs(16)
    daemon = groupd_factory()
    many = names * 4096
    assert len(many) == 65536
    got, out = gio_call(daemon.client.address, "SetLinkGroup", "(ass)", (many, "300"))
    assert got is None, f"{got}: {out}"
    assert out == (16,)
    assert {l["group_id"] for l in netns.links() if l["ifname"] in names} == {300}
    # One more name than SetLinkGroup takes: its own message, not the guard's.
    got, message = gio_call(daemon.client.address, "SetLinkGroup", "(ass)",
                            (many + ["ifb0"], "400"))
    assert got == gdlib.ERROR_PREFIX + "InvalidArgs", message
    assert "between 1 and 65536 link names" in message and REFUSED not in message


def test_refused_calls_leave_the_connection_usable(netns, groupd_factory):
    """A refused call costs only itself: the same connection goes on."""
    netns.add_ifbs(2, group=100)
    daemon = groupd_factory()
    conn_replies = send(netns, daemon.client.address, "getlink-empty", 100_000,
                        uid=gdlib.NOBODY, repeat=3)
    assert all(REFUSED in r and "too many values" in r for _, r in conn_replies), conn_replies
    # Under the limits, the same shape reaches GDBus, which checks the type.
    [(_, reply)] = send(netns, daemon.client.address, "getlink-empty", 1000, uid=gdlib.NOBODY)
    assert reply.startswith("org.freedesktop.DBus.Error.InvalidArgs"), reply
    [(_, reply)] = send(netns, daemon.client.address, "getlink-string", 100, uid=gdlib.NOBODY)
    assert reply.startswith(gdlib.ERROR_PREFIX + "NoSuchLink"), reply
    assert daemon.alive()


def test_oversized_signal_dropped(netns, groupd_factory, workdir):
    """A signal sent to groupd (the shipped bus policy forbids it; the test
    bus allows everything) of 3 000 000 values is dropped unread."""
    daemon = groupd_factory()
    before = vmrss_kib(daemon.proc.pid)
    gi_script = (
        "import sys\n"
        "from gi.repository import Gio, GLib\n"
        "c = Gio.DBusConnection.new_for_address_sync(sys.argv[1], "
        "Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | "
        "Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)\n"
        "m = Gio.DBusMessage.new_signal('/x', 'x.y', 'Z')\n"
        "m.set_destination('net.groupd1')\n"
        "m.set_body(GLib.Variant('(ay)', (b'\\0' * 3_000_000,)))\n"
        "c.send_message(m, Gio.DBusSendMessageFlags.NONE)\n"
        "c.flush_sync(None)\n")
    gdlib.run(netns.exec_cmd("setpriv", f"--reuid={gdlib.NOBODY}", f"--regid={gdlib.NOBODY}",
                             "--clear-groups", sys.executable, "-c", gi_script,
                             daemon.client.address))
    daemon.client.list_groups()
    check_rss(daemon, before, "a 3 MB signal")
    gdlib.wait_for(lambda: "guard: refused a message x.y.Z" in daemon.log_path.read_text(), 10,
                   what="the guard's log line")
