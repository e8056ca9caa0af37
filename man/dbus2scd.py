#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generates groupd-dbus(7) in scdoc syntax from the D-Bus introspection XML.

    dbus2scd.py TEMPLATE XML... > groupd-dbus.7.scd

The XML files (dbus/*.xml) are the API's source of truth: every interface,
method, argument, signal and property is taken from them, and so is the
text, from the XML comment that precedes each element (gdbus-codegen style):

    <!--
        Name:
        @arg: text about the argument.

        Text about the element, in paragraphs.
    -->

or on one line: <!-- Name: text -->. Lines "net.groupd1.Error.X: meaning" of
an interface's comment (and the paragraph ending in ":" just before them)
become the ERRORS section. TEMPLATE is the hand-written rest of the page;
its line "@DBUS_API@" is replaced by the generated sections.

Fails (exit status 1) when an element has no doc comment, or its comment
names another element, or an @arg names no argument: the page may not
silently lose part of the API.
"""

import re
import sys
import textwrap
import xml.etree.ElementTree as ET

MARKER = "@DBUS_API@"
ERROR_LINE = re.compile(r"^(net\.groupd1\.Error\.[A-Za-z]+):\s*(.*)$")
ARG_LINE = re.compile(r"^@([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$")

CHANGED_SIGNAL = {
    "true": "PropertiesChanged carries the new value",
    "invalidates": "PropertiesChanged only invalidates it: read it again when told",
    "const": "never changes for the object's lifetime",
    "false": "not signalled: read it when needed",
}

problems = []


def problem(text):
    problems.append(text)


def esc(text):
    """Escapes scdoc's formatting characters in running text."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
    # scdoc passes a line that starts with "." or "'" to roff as a request.
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


class Doc:
    """A parsed doc comment."""

    def __init__(self, name, args, paragraphs, errors, errors_intro, short):
        self.name = name
        self.args = args  # name -> text
        self.paragraphs = paragraphs  # list of str
        self.errors = errors  # list of (name, text)
        self.errors_intro = errors_intro
        self.short = short


def parse_comment(text):
    lines = textwrap.dedent(text.strip("\n")).strip().splitlines()
    lines = [line.strip() for line in lines]
    if not lines or ":" not in lines[0]:
        return None
    name, _, rest = lines[0].partition(":")
    name = name.strip()
    args = {}
    short = None
    body = []
    if rest.strip():
        body.append(rest.strip())
    i = 1
    # @arg lines (each may continue on following lines until a blank one).
    current = None
    while i < len(lines) and lines[i]:
        m = ARG_LINE.match(lines[i])
        if m:
            current = m.group(1)
            args[current] = m.group(2)
        elif current:
            args[current] += " " + lines[i]
        else:
            body.append(lines[i])
        i += 1
    if "short_description" in args:
        short = args.pop("short_description")
    body.extend(lines[i:])

    paragraphs, errors, errors_intro = [], [], None
    para = []

    def flush():
        if para:
            paragraphs.append(" ".join(para))
            para.clear()

    for line in body:
        m = ERROR_LINE.match(line)
        if m:
            if para and not errors and para[-1].endswith(":"):
                errors_intro = " ".join(para)
                para.clear()
            flush()
            errors.append((m.group(1), m.group(2)))
        elif not line:
            flush()
        elif line.startswith("Errors:"):
            flush()
            para.append(line)
        else:
            para.append(line)
    flush()
    return Doc(name, args, paragraphs, errors, errors_intro, short)


def docs_of(parent):
    """(element, Doc) for each element child of parent, with the comment before it."""
    result = []
    pending = None
    for child in parent:
        if child.tag is ET.Comment:
            pending = child.text or ""
            continue
        if not isinstance(child.tag, str) or child.tag == "annotation":
            continue
        doc = parse_comment(pending) if pending is not None else None
        pending = None
        if child.tag in ("interface", "method", "signal", "property"):
            name = child.get("name")
            if doc is None:
                problem(f"{child.tag} {name}: no doc comment before it")
                doc = Doc(name, {}, [], [], None, None)
            elif doc.name != name:
                problem(f"{child.tag} {name}: its doc comment is for {doc.name!r}")
        result.append((child, doc))
    return result


def arg_list(element, direction):
    out = []
    for arg in element.findall("arg"):
        d = arg.get("direction", "in" if element.tag == "method" else "out")
        if direction is None or d == direction:
            out.append(arg)
    return out


def fmt_args(args):
    return ", ".join(f"_{esc(a.get('name'))}_ {esc(a.get('type'))}" for a in args)


def arg_docs(element, doc, lines):
    names = [a.get("name") for a in element.findall("arg")]
    for key in doc.args:
        if key not in names:
            problem(f"{element.tag} {element.get('name')}: @{key} names no argument")
    for arg in element.findall("arg"):
        name = arg.get("name")
        text = doc.args.get(name)
        if text is None:
            problem(f"{element.tag} {element.get('name')}: argument {name} is not documented")
            continue
        lines.append(f"\t_{esc(name)}_ ({esc(arg.get('type'))}): {esc(text)}")
        lines.append("")


def body(doc, lines):
    for para in doc.paragraphs:
        lines.append("\t" + esc(para))
        lines.append("")


def render_interface(iface, doc, lines, errors):
    name = iface.get("name")
    lines.append(f"# INTERFACE {name}")
    lines.append("")
    if doc.short:
        lines.append(f"*{esc(name)}*: {esc(doc.short)}")
        lines.append("")
    for para in doc.paragraphs:
        lines.append(esc(para))
        lines.append("")
    if doc.errors:
        errors.append((doc.errors_intro, doc.errors))

    members = docs_of(iface)
    sections = (("method", "Methods"), ("signal", "Signals"), ("property", "Properties"))
    for tag, title in sections:
        items = [(e, d) for e, d in members if e.tag == tag]
        if not items:
            continue
        lines.append(f"## {name}: {title}")
        lines.append("")
        for element, mdoc in items:
            mname = esc(element.get("name"))
            if tag == "method":
                ins = fmt_args(arg_list(element, "in"))
                outs = fmt_args(arg_list(element, "out"))
                lines.append(f"*{mname}*({ins}) -> ({outs})")
            elif tag == "signal":
                lines.append(f"*{mname}*({fmt_args(arg_list(element, None))})")
            else:
                access = {"read": "read-only", "write": "write-only",
                          "readwrite": "read-write"}.get(element.get("access"), element.get("access"))
                lines.append(f"*{mname}* {esc(element.get('type'))}, {access}")
            if tag == "property":
                text = " ".join(mdoc.paragraphs)
                emits = "true"
                for ann in element.findall("annotation"):
                    if ann.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal":
                        emits = ann.get("value")
                if not text:
                    problem(f"property {element.get('name')}: empty doc comment")
                lines.append(f"\t{esc(text)}")
                lines.append("")
                lines.append(f"\tChanges: {esc(CHANGED_SIGNAL.get(emits, emits))}.")
                lines.append("")
            else:
                if not mdoc.paragraphs:
                    problem(f"{tag} {element.get('name')}: doc comment has no description")
                body(mdoc, lines)
                arg_docs(element, mdoc, lines)


def main(argv):
    if len(argv) < 3:
        print("usage: dbus2scd.py TEMPLATE XML...", file=sys.stderr)
        return 2
    template = open(argv[1], encoding="utf-8").read()
    if template.count(MARKER) != 1:
        print(f"{argv[1]}: needs exactly one {MARKER} line", file=sys.stderr)
        return 1
    lines, errors = [], []
    for path in argv[2:]:
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
        root = ET.parse(path, parser=parser).getroot()
        for element, doc in docs_of(root):
            if element.tag == "interface":
                render_interface(element, doc, lines, errors)
    if errors:
        lines.append("# ERRORS")
        lines.append("")
        for intro, entries in errors:
            if intro:
                lines.append(esc(intro))
                lines.append("")
            for name, text in entries:
                lines.append(f"*{esc(name)}*")
                lines.append(f"\t{esc(text)}")
                lines.append("")
    else:
        problem("no net.groupd1.Error.* lines in any interface's doc comment")
    if problems:
        for p in problems:
            print(f"dbus2scd: {p}", file=sys.stderr)
        return 1
    sys.stdout.write(template.replace(MARKER, "\n".join(lines).rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
