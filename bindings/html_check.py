#!/usr/bin/env python3
"""Checks the generated HTML reference: usage: html_check.py HTML_DIR IDL_DIR

* every internal link (href="page.html#anchor") resolves to an existing page and id;
* the pages are self-contained (no external links, scripts, stylesheets or images) and carry
  the viewport meta that makes them readable on a phone;
* every item of the IDL appears: each group, type, field, constructor, interface, method and
  argument has its anchor on the page where docs/idl-format.md's model puts it. The IDL is read here by a
  small independent scanner, not by smapi-idl, so that the two cross-check each other.
Prints each problem and exits 1 if there is any.
"""

import html.parser
import os
import re
import sys


class PageScanner(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []
        self.external = []
        self.viewport = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "meta" and attrs.get("name") == "viewport":
            self.viewport = True
        if tag in ("script", "img", "link", "iframe") or "src" in attrs:
            self.external.append("<%s> %s" % (tag, attrs))
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])


def scan_pages(html_dir):
    pages = {}
    for name in sorted(os.listdir(html_dir)):
        if name.endswith(".html"):
            scanner = PageScanner()
            with open(os.path.join(html_dir, name), encoding="utf-8") as f:
                scanner.feed(f.read())
            pages[name] = scanner
    return pages


def check_links(pages):
    problems = []
    for name, page in pages.items():
        if not page.viewport:
            problems.append("%s: no viewport meta" % name)
        for tag in page.external:
            problems.append("%s: external asset %s" % (name, tag))
        for href in page.links:
            if re.match(r"^[a-z]+:|^//", href):
                problems.append("%s: external link %s" % (name, href))
                continue
            target, _, anchor = href.partition("#")
            target = target or name
            if target not in pages:
                problems.append("%s: link to missing page %s" % (name, href))
            elif anchor and anchor not in pages[target].ids:
                problems.append("%s: link to missing anchor %s" % (name, href))
    return problems


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|-?[0-9][0-9.eE+-]*|\S')


def strip_comment(line):
    """The line without its `//` comment (a `//` inside a string literal does not count)."""
    in_string = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif line.startswith("//", i):
            return line[:i]
        i += 1
    return line


def tokens(path):
    """The tokens of one .smapi file, comments dropped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.extend(TOKEN.findall(strip_comment(line)))
    return out


class Scanner(object):
    """Reads the declarations of an IDL tree into the anchors the HTML must have."""

    def __init__(self):
        self.expected = []  # (page, anchor)

    def scan(self, path):
        self.t = tokens(path)
        self.i = 0
        self.package = None
        self.group = None
        removed = False
        while self.i < len(self.t):
            tok = self.next()
            if tok == "@":
                removed = self.attribute() or removed
                continue
            if tok == "package":
                self.package = self.next()
                self.skip_to(";")
            elif tok == "group":
                self.group = self.next()
                self.expected.append(("%s-%s.html" % (self.package, self.group),
                                      "G-" + self.group))
                self.skip_to(";")
            elif tok in ("record", "variant", "errors"):
                self.members(self.next(), removed)
            elif tok == "alias":
                name = self.next()
                if not removed:
                    self.expect_type(name)
                self.skip_to(";")
            elif tok == "interface":
                self.interface(removed)
            else:
                self.skip_to(";")
            removed = False

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def attribute(self):
        name = self.next()
        if self.peek() == "(":
            self.next()
            self.skip_to(")")
        return name == "removed"

    def skip_to(self, end):
        """Skips past the next `end` outside brackets."""
        depth = 0
        while self.i < len(self.t):
            tok = self.next()
            if tok == end and depth == 0:
                return
            if tok in "(<[{":
                depth += 1
            elif tok in ")>]}":
                depth -= 1

    def expect_type(self, name):
        self.expected.append((self.package + ".html", "T-" + name))

    def members(self, type_name, removed):
        if not removed:
            self.expect_type(type_name)
        self.skip_to("{")
        member_removed = False
        while self.peek() != "}":
            tok = self.next()
            if tok == "@":
                member_removed = self.attribute() or member_removed
                continue
            if not removed and not member_removed:
                self.expected.append((self.package + ".html", "T-%s.%s" % (type_name, tok)))
            self.skip_to(";")
            member_removed = False
        self.next()

    def interface(self, removed):
        name = self.next()
        namespace = name
        if self.peek() == "namespace":
            self.next()
            namespace = self.next()[1:-1]
        self.skip_to("{")
        page = "%s-%s.html" % (self.package, self.group)
        if not removed:
            self.expected.append((page, "I-" + name))
        method_removed = False
        while self.peek() != "}":
            tok = self.next()
            if tok == "@":
                method_removed = self.attribute() or method_removed
                continue
            # tok == "method"
            method = self.next()
            wire = namespace + "." + method if namespace else method
            live = not removed and not method_removed
            if live:
                self.expected.append((page, "M-" + wire))
            self.next()  # {
            arg_removed = False
            while self.peek() != "}":
                tok = self.next()
                if tok == "@":
                    arg_removed = self.attribute() or arg_removed
                    continue
                if tok != "returns" and live and not arg_removed:
                    self.expected.append((page, "M-%s.%s" % (wire, tok)))
                self.skip_to(";")
                arg_removed = False
            self.next()  # }
            method_removed = False
        self.next()


def check_items(pages, idl_dir):
    scanner = Scanner()
    for root, dirs, files in os.walk(idl_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".smapi"):
                scanner.scan(os.path.join(root, name))
    problems = []
    for page, anchor in scanner.expected:
        if page not in pages:
            problems.append("missing page %s (for %s)" % (page, anchor))
        elif anchor not in pages[page].ids:
            problems.append("%s: IDL item %s does not appear" % (page, anchor))
    return problems, len(scanner.expected)


def main(argv):
    if len(argv) != 3:
        print("usage: html_check.py HTML_DIR IDL_DIR", file=sys.stderr)
        return 2
    pages = scan_pages(argv[1])
    if "index.html" not in pages:
        print("%s: no index.html" % argv[1])
        return 1
    problems = check_links(pages)
    item_problems, items = check_items(pages, argv[2])
    problems += item_problems
    for p in problems:
        print(p)
    links = sum(len(p.links) for p in pages.values())
    print("html_check: %d pages, %d links, %d IDL items, %d problems"
          % (len(pages), links, items, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
