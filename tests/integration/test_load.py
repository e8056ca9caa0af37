# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load: 50 concurrent clients, each with its own D-Bus connection,
issue group operations and reads for a while against many ifb links.

Each client owns two groups (A = 1000 + c, B = 2000 + c) and their links, so
the order of its accepted requests is the order the kernel saw them: it
keeps a model of its links (group, MTU, TxQueueLength, up, addresses),
updated on every accepted request. At the end the kernel (`ip -j`) must equal
the model for every link (no lost operation), ListLinks must equal the
kernel, the only error allowed is the documented net.groupd1.Error.Busy, and
groupd's RSS (VmRSS) at the end must be within 10 % of its RSS after the
warm-up (the first quarter of the run).

Size from the environment (CI: the defaults; tools/load-test.sh: 8192 links,
60 s): GROUPD_LOAD_LINKS (2048), GROUPD_LOAD_SECONDS (10),
GROUPD_LOAD_CLIENTS (50)."""

import os
import random
import threading
import time

import gi

import gdlib
from conftest import groupd_bin

gi.require_version("Gio", "2.0")
gi.require_version("GLib", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

LINKS = int(os.environ.get("GROUPD_LOAD_LINKS", "2048"))
SECONDS = float(os.environ.get("GROUPD_LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("GROUPD_LOAD_CLIENTS", "50"))
MGR = gdlib.MANAGER_IFACE
E = gdlib.ERROR_PREFIX
ALLOWED_ERRORS = {E + "Busy"}
RSS_GROWTH_MAX = 0.10


def connect(address):
    return Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


def sanitized():
    """Whether groupd is built with AddressSanitizer."""
    return b"__asan_init" in groupd_bin().read_bytes()


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class LinkModel:
    __slots__ = ("group", "mtu", "txqlen", "up", "addrs")

    def __init__(self, kernel):
        self.group, self.mtu, self.txqlen = kernel["group_id"], kernel["mtu"], kernel["txqlen"]
        self.up, self.addrs = gdlib.is_up(kernel), set()


class Client(threading.Thread):
    def __init__(self, index, address, kernel_links, deadline, seed):
        super().__init__(name=f"client-{index}")
        self.index = index
        self.address = address
        self.a, self.b = 1000 + index, 2000 + index
        self.links = {n: LinkModel(k) for n, k in kernel_links.items()}
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.accepted = 0
        self.reads = 0
        self.busy = 0
        self.errors = []  # (operation, error name, message)
        self.failure = None

    def call(self, method, sig, args, path=gdlib.MANAGER_PATH, iface=MGR):
        body = GLib.Variant(f"({sig})", args) if sig else None
        try:
            return self.conn.call_sync(gdlib.BUS_NAME, path, iface, method, body, None,
                                       Gio.DBusCallFlags.NONE, 120_000, None), None
        except GLib.Error as e:
            return None, (Gio.DBusError.get_remote_error(e) or "LOCAL", e.message)

    def members(self, gid):
        return [n for n, m in self.links.items() if m.group == gid]

    def mutate(self):
        rng = self.rng
        gid = rng.choice((self.a, self.b))
        members = self.members(gid)
        kind = rng.choice(("mtu", "txqlen", "state", "move", "addr", "addr"))
        if kind == "move" or not members:
            # A few links to the other group (or back).
            src = self.members(self.a if gid == self.b else self.b)
            if not src:
                return
            moved = rng.sample(src, min(len(src), rng.randint(1, 4)))
            res, err = self.call("SetLinkGroup", "ass", (moved, str(gid)))
            if err is None:
                for n in moved:
                    self.links[n].group = gid
            return self.record(f"SetLinkGroup {moved} {gid}", err)
        if kind in ("mtu", "txqlen", "state"):
            if kind == "mtu":
                key, value = "MTU", GLib.Variant("u", rng.randint(1280, 9000))
            elif kind == "txqlen":
                key, value = "TxQueueLength", GLib.Variant("u", rng.randint(1, 5000))
            else:
                key, value = "State", GLib.Variant("s", rng.choice(("up", "down")))
            res, err = self.call("SetGroup", "sa{sv}a{sv}", (str(gid), {key: value}, {}))
            if err is None:
                for n in members:
                    m = self.links[n]
                    if kind == "mtu":
                        m.mtu = value.get_uint32()
                    elif kind == "txqlen":
                        m.txqlen = value.get_uint32()
                    else:
                        m.up = value.get_string() == "up"
            return self.record(f"SetGroup {gid} {key}={value}", err)
        # Addresses: one of 8 per client; remove only one a member has.
        present = set().union(*(self.links[n].addrs for n in members))
        if present and rng.random() < 0.5:
            addr = rng.choice(sorted(present))
            res, err = self.call("RemoveGroupAddress", "ssa{sv}", (str(gid), addr, {}))
            if err is None:
                for n in members:
                    self.links[n].addrs.discard(addr)
            return self.record(f"RemoveGroupAddress {gid} {addr}", err)
        addr = f"10.{self.index}.{rng.randint(0, 7)}.1/24"
        res, err = self.call("AddGroupAddress", "ssa{sv}", (str(gid), addr, {}))
        if err is None:
            for n in members:
                self.links[n].addrs.add(addr)
        return self.record(f"AddGroupAddress {gid} {addr}", err)

    def read(self):
        rng = self.rng
        what = rng.random()
        if what < 0.05:
            res, err = self.call("ListLinks", "", None)
        elif what < 0.4:
            res, err = self.call("GetLink", "s", (rng.choice(list(self.links)),))
        elif what < 0.6:
            res, err = self.call("ListGroups", "", None)
        else:
            gid = rng.choice((self.a, self.b))
            path = f"{gdlib.GROUP_PATH_PREFIX}{gid}"
            res, err = self.call("GetAll", "s", (gdlib.GROUP_IFACE,), path=path,
                                 iface="org.freedesktop.DBus.Properties")
            if err and err[0] == "org.freedesktop.DBus.Error.UnknownMethod" \
                    and not self.members(gid):
                err = None  # a group without members has no object
        self.reads += 1
        if err:
            self.errors.append(("read", *err))

    def record(self, what, err):
        if err is None:
            self.accepted += 1
        elif err[0] in ALLOWED_ERRORS:
            self.busy += 1
        else:
            self.errors.append((what, *err))

    def run(self):
        try:
            self.conn = connect(self.address)
            while time.monotonic() < self.deadline:
                if self.rng.random() < 0.5:
                    self.mutate()
                else:
                    self.read()
            self.conn.close_sync(None)
        except Exception as e:  # reported by the test
            self.failure = repr(e)


def test_load(netns, workdir, groupd_factory, capsys):
    per = LINKS // CLIENTS
    assert per >= 2, "GROUPD_LOAD_LINKS too small for the clients"
    t0 = time.monotonic()
    names = {}
    lines = []
    for c in range(CLIENTS):
        names[c] = [f"c{c}l{i}" for i in range(per)]
        lines += [f"link add {n} group {1000 + c} type ifb" for n in names[c]]
    # The rest (LINKS not a multiple of CLIENTS) in a group nobody changes.
    lines += [f"link add r{i} group 999 type ifb" for i in range(LINKS - per * CLIENTS)]
    netns.batch(lines)
    created = time.monotonic() - t0
    daemon = groupd_factory()
    pid = daemon.proc.pid
    address = daemon.client.address
    initial = netns.links_by_name()

    start = time.monotonic()
    deadline = start + SECONDS
    clients = [Client(c, address, {n: initial[n] for n in names[c]}, deadline, seed=c)
               for c in range(CLIENTS)]
    for cl in clients:
        cl.start()
    samples = []
    while any(cl.is_alive() for cl in clients):
        samples.append((time.monotonic() - start, vmrss_kib(pid), threads(pid)))
        assert daemon.alive(), "groupd died under load"
        time.sleep(0.25)
    for cl in clients:
        cl.join()
    elapsed = time.monotonic() - start
    failures = [(cl.name, cl.failure) for cl in clients if cl.failure]
    assert not failures, failures
    errors = [e for cl in clients for e in cl.errors]
    assert not errors, f"{len(errors)} undocumented errors: {errors[:10]}"

    # The model of every client against the kernel.
    links = netns.links_by_name()
    addrs = netns.addrs()
    mismatches = []
    for cl in clients:
        for n, m in cl.links.items():
            k = links[n]
            got = (k["group_id"], k["mtu"], k["txqlen"], gdlib.is_up(k),
                   sorted(a for a in addrs.get(n, []) if not a.startswith("fe80")))
            want = (m.group, m.mtu, m.txqlen, m.up, sorted(m.addrs))
            if got != want:
                mismatches.append((n, want, got))
    assert not mismatches, f"{len(mismatches)} links differ from the last accepted requests " \
                           f"(want, got): {mismatches[:10]}"
    gdlib.wait_for(lambda: gdlib.cache_matches_kernel(netns, daemon.client), 30,
                   what="ListLinks to equal ip -j link")

    final = vmrss_kib(pid)
    base = [r for t, r, _ in samples if t >= SECONDS / 4]
    baseline = base[0] if base else samples[-1][1]
    peak = max(r for _, r, _ in samples)
    max_threads = max(n for _, _, n in samples)
    accepted = sum(cl.accepted for cl in clients)
    reads = sum(cl.reads for cl in clients)
    busy = sum(cl.busy for cl in clients)
    growth = (final - baseline) / baseline
    with capsys.disabled():
        print(f"\nload: {CLIENTS} clients x {elapsed:.1f} s, {LINKS} links "
              f"(created in {created:.1f} s): {accepted} operations accepted "
              f"({accepted / elapsed:.0f}/s), {reads} reads ({reads / elapsed:.0f}/s), "
              f"{busy} Busy, 0 other errors, 0 mismatches; VmRSS after warm-up "
              f"{baseline} KiB, peak {peak} KiB, end {final} KiB ({growth * 100:+.1f} %), "
              f"threads {samples[0][2]}..{max_threads}")
    assert accepted >= CLIENTS, f"only {accepted} operations accepted"
    if sanitized():
        # ASan keeps freed blocks in quarantine (256 MiB by default), so RSS
        # grows with every allocation: no bound on groupd's memory there.
        with capsys.disabled():
            print("load: AddressSanitizer build: VmRSS not bounded (quarantine)")
        return
    assert growth < RSS_GROWTH_MAX, \
        f"VmRSS grew {growth * 100:.1f} % after warm-up ({baseline} -> {final} KiB); " \
        f"(s, KiB, threads): {[(round(t, 1), r, n) for t, r, n in samples][::4]}"
