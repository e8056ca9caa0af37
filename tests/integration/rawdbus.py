# SPDX-License-Identifier: LGPL-2.1-or-later
"""A raw D-Bus client for tests and benchmarks: messages marshalled by
hand (a 24 MB body costs 24 MB here, not a GVariant per element), sent on
a unix socket after EXTERNAL authentication and Hello."""

import os
import socket
import struct
import sys


def _pad(buf, align):
    buf.extend(b"\0" * ((-len(buf)) % align))


def put_string(buf, text, sig="s"):
    data = text if isinstance(text, bytes) else text.encode()
    if sig == "g":
        buf.append(len(data))
    else:
        _pad(buf, 4)
        buf += struct.pack("<I", len(data))
    buf += data + b"\0"


def method_call(serial, dest, path, iface, member, sig, body):
    """A little-endian method call (header fields by hand)."""
    fields = bytearray()
    for code, fsig, value in ((1, "o", path), (2, "s", iface), (3, "s", member), (6, "s", dest),
                              (8, "g", sig)):
        if value is None or (code == 8 and not value):
            continue
        _pad(fields, 8)
        fields.append(code)
        put_string(fields, fsig, "g")
        # Offsets inside the fields array equal offsets in the message
        # modulo 8: the array starts at 16.
        put_string(fields, value, fsig)
    msg = bytearray(b"l\x01\x00\x01")
    msg += struct.pack("<III", len(body), serial, len(fields))
    msg += fields
    _pad(msg, 8)
    return bytes(msg) + body


def body_strings(names):
    """`as` of names, as bytes."""
    out = bytearray(4)
    for n in names:
        put_string(out, n)
    struct.pack_into("<I", out, 0, len(out) - 4)
    return out


def body_empty_strings(count):
    """`as` of count empty strings without building them one by one."""
    if count == 0:
        return bytearray(struct.pack("<I", 0))
    elems = b"\0" * 8 * count
    elems = elems[:-3]
    return bytearray(struct.pack("<I", len(elems))) + elems


def _read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return bytes(data)


def read_message(sock):
    """(type, reply_serial, error_name, body bytes) of the next message."""
    fixed = _read_exact(sock, 16)
    endian = "<" if fixed[0:1] == b"l" else ">"
    mtype = fixed[1]
    body_len, _serial, fields_len = struct.unpack(endian + "III", fixed[4:16])
    rest = _read_exact(sock, fields_len + ((-(16 + fields_len)) % 8) + body_len)
    fields = rest[:fields_len]
    pos, reply_serial, error_name = 0, None, None
    while pos < len(fields):
        pos += (-pos) % 8
        code = fields[pos]
        slen = fields[pos + 1]
        fsig = fields[pos + 2:pos + 2 + slen].decode()
        pos += 3 + slen
        if fsig in ("s", "o"):
            pos += (-pos) % 4
            (n,) = struct.unpack(endian + "I", fields[pos:pos + 4])
            value = fields[pos + 4:pos + 4 + n].decode(errors="replace")
            pos += 5 + n
        elif fsig == "g":
            n = fields[pos]
            value = fields[pos + 1:pos + 1 + n].decode()
            pos += 2 + n
        elif fsig == "u":
            pos += (-pos) % 4
            (value,) = struct.unpack(endian + "I", fields[pos:pos + 4])
            pos += 4
        else:
            raise ValueError(f"header field of type {fsig}")
        if code == 5:
            reply_serial = value
        elif code == 4:
            error_name = value
    return mtype, reply_serial, error_name, rest[fields_len + ((-(16 + fields_len)) % 8):]


def raw_client(address, message, timeout, repeat=1):
    """Authenticates, says Hello, sends message (serial 2) repeat times,
    each after the reply to the one before; returns the last reply's error
    name and text, or "OK"."""
    path = address.split("unix:path=", 1)[1]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    sock.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += sock.recv(1)
    if not line.startswith(b"OK "):
        raise RuntimeError(f"authentication refused: {line!r}")
    sock.sendall(b"BEGIN\r\n")
    sock.sendall(method_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "Hello", "", b""))
    replies = []
    for i in range(repeat):
        serial = 2 + i
        msg = bytearray(message)
        struct.pack_into("<I", msg, 8, serial)
        sock.sendall(msg)
        while True:
            mtype, reply_serial, error_name, body = read_message(sock)
            if reply_serial != serial:
                continue
            if mtype == 3:
                text = ""
                if len(body) >= 4:
                    (n,) = struct.unpack("<I", body[:4])
                    text = body[4:4 + n].decode(errors="replace")
                replies.append(f"{error_name}: {text}")
            else:
                replies.append("OK")
            break
    names = sorted({r.split(":", 1)[0] for r in replies})
    return f"{replies[-1]}" if len(names) == 1 else f"{'/'.join(names)}; last: {replies[-1]}"


def build(kind, count):
    """One call to groupd (serial 2), of one of the shapes the tests and the
    memory benchmark send."""
    if kind == "getlink-empty":
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "GetLink",
                          "as", body_empty_strings(count))
    elif kind == "setlinkgroup-empty":
        body = body_empty_strings(count)
        put_string(body, "100")
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                          "SetLinkGroup", "ass", body)
    elif kind == "setlinkgroup-names":
        body = body_strings(f"x{i:06d}" for i in range(count))
        put_string(body, "100")
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager",
                          "SetLinkGroup", "ass", body)
    elif kind == "getlink-string":
        body = bytearray()
        put_string(body, "n" * count)
        msg = method_call(2, "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "GetLink",
                          "s", body)
    else:
        raise ValueError(f"unknown message kind {kind}")
    return msg


def main():
    """Run as a child (through setpriv for another uid): sends one kind of
    call and prints "<message bytes> <reply>"."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--kind", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    msg = build(args.kind, args.count)
    print(f"{len(msg)} {raw_client(args.address, msg, args.timeout, args.repeat)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
