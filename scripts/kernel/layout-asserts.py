#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn bindgen's layout tests into compile-time assertions, in place.

bindgen writes `#[test] fn bindgen_test_layout_T()` functions that compare
the Rust layout of each generated struct with the one clang computed for the
C struct. Kernel modules are never built as tests, so those functions would
never run. Rewritten as `const _: () = { assert!(...) };` blocks they are
checked by every build: a struct whose Rust layout differs from the C one
(for instance because a field type taken from `kernel::bindings` has a
different size) stops the build with the name of the size or offset that
differs.

    scripts/kernel/layout-asserts.py BINDINGS.rs
"""
import re
import sys


def convert(match):
    ty, body = match.group(1), match.group(2)
    body = re.sub(r"\s*const UNINIT: [^;]*;\s*let ptr = UNINIT\.as_ptr\(\);", "", body)
    body = re.sub(
        r"unsafe \{ ::core::ptr::addr_of!\(\(\*ptr\)\.(\w+)\) as usize - ptr as usize \}",
        lambda field: "::core::mem::offset_of!(%s, %s)" % (ty, field.group(1)),
        body,
    )
    body = re.sub(
        r"assert_eq!\(\s*(.*?),\s*(\d+usize),\s*(\"[^\"]*\"),?\s*\);",
        r"assert!(\1 == \2, \3);",
        body,
        flags=re.S,
    )
    if "UNINIT" in body or "assert_eq!" in body:
        sys.exit("layout-asserts: unexpected layout test for %s" % ty)
    return "const _: () = {\n" + body.strip("\n") + "\n};\n"


def main():
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    text, count = re.subn(
        r"#\[test\]\nfn bindgen_test_layout_(\w+)\(\) \{\n(.*?)\n\}\n", convert, text, flags=re.S
    )
    if count == 0:
        sys.exit("layout-asserts: no layout tests found in %s" % path)
    with open(path, "w") as f:
        f.write(text)


main()
