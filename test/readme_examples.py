#!/usr/bin/env python3
"""Runs the README's examples as written: every ```sh, ```c and ```python block that no
'<!-- not run: ... -->' line precedes. The C blocks are one program's fragments, in order; sh
blocks find `dinofeat` on PATH as the built tool. Everything runs in a scratch folder that links
the repository's folders, so the files the examples write land there.
Usage: readme_examples.py README.md BUILD_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"(<!-- not run: [^>]*-->\n)?```(sh|c|python)\n(.*?)```", re.S)
LINKED = ("examples", "test", "bindings", "include", "lib", "build")


def blocks(readme):
    for match in FENCE.finditer(open(readme).read()):
        if match.group(1) is None:
            yield match.group(2), match.group(3), readme.count("\n", 0, match.start()) + 1


def c_program(fragments):
    """The fragments as one main(): #include lines hoisted, the rest in order."""
    includes, body = ["#include <stdio.h>"], []
    for text in fragments:
        for line in text.splitlines():
            (includes if line.startswith("#include") else body).append(line)
    return "\n".join(includes) + "\nint main(void) {\n" + "\n".join(body) + "\nreturn 0;\n}\n"


def run(kind, text, line, scratch, root, build):
    env = dict(os.environ, PATH=os.path.join(root, build, "bin") + os.pathsep + os.environ["PATH"])
    env.pop("DINOFEAT_LIBRARY", None)
    if kind == "sh":
        command = ["bash", "-euo", "pipefail", "-c", text]
    elif kind == "python":
        command = ["/usr/bin/python3", "-c", text]
    else:
        source = os.path.join(scratch, "readme.c")
        open(source, "w").write(text)
        program = os.path.join(scratch, "readme_c")
        subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable", "-Iinclude", source,
                        "-o", program, "-Llib", "-ldinofeat", f"-Wl,-rpath,{os.path.join(root, 'lib')}"],
                       cwd=scratch, check=True)
        command = [program]
    result = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"README.md:{line}: the {kind} example failed (exit {result.returncode}):\n"
                 f"{text}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")
    return result


def main():
    readme, build = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.abspath(readme))
    scratch = tempfile.mkdtemp(prefix="dinofeat-readme-")
    try:
        for name in LINKED:
            os.symlink(os.path.join(root, name), os.path.join(scratch, name))
        found = list(blocks(readme))
        c_fragments = [text for kind, text, _ in found if kind == "c"]
        count = 0
        for kind, text, line in found:
            if kind == "c":
                continue
            run(kind, text, line, scratch, root, build)
            count += 1
        if c_fragments:
            run("c", c_program(c_fragments), "the C blocks", scratch, root, build)
            count += len(c_fragments)
        print(f"readme: {count} examples ran as written")
    finally:
        shutil.rmtree(scratch)


main()
