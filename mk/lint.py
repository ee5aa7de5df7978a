#!/usr/bin/env python3
"""make lint: the house rules that a compiler does not check.

usage: lint.py OBJDIR      (OBJDIR holds the program's .o files, one per .c)

1. No unbounded string call anywhere (STYLE.md habit 1).
2. The wall: system calls on files, sockets, processes and privileges are made
   only in the sys family (sys*.c). Everything else calls its wrappers.
3. The layers point one way: neither the include graph of the headers nor
   the call graph between the program's source files (read from the object
   files' symbol tables with nm) has a cycle.
4. One concern per file: no .c file above 1,000 lines; no function above 80
   lines unless the comment just above it says why it must be one, with the
   words "One function:".
5. The code follows .clang-format (when clang-format is installed).

Every finding is printed as FILE:LINE: message; the exit status is 1 if
there was any.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_MAX = 1000
FUNC_MAX = 80

UNBOUNDED = ["strcpy", "strcat", "sprintf", "vsprintf", "gets", "strtok"]

# System calls (and the libc functions that are thin wrappers of them) that
# only sys*.c may make.
SYSCALLS = """
read write pread pwrite readv writev open openat openat2 creat close dup dup2 dup3
fcntl ioctl lseek fstat fstatat stat lstat statx access faccessat fsync fdatasync
ftruncate truncate unlink unlinkat rename renameat renameat2 link linkat symlink
symlinkat mkdir mkdirat rmdir chmod fchmod fchmodat chown fchown fchownat lchown
readlink readlinkat opendir fdopendir readdir closedir utimensat futimens
socket socketpair bind listen accept accept4 connect shutdown setsockopt
getsockopt getsockname getpeername send sendto sendmsg recv recvfrom recvmsg
sendfile splice poll ppoll select pselect epoll_wait
chroot chdir fchdir setuid setgid seteuid setegid setresuid setresgid setgroups
prctl seccomp syscall fork vfork execve kill getrandom flock mmap munmap
""".split()

CALL_RE = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(SYSCALLS))
UNBOUNDED_RE = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(UNBOUNDED))
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

findings = []


def report(path, line, msg):
    findings.append("%s:%d: %s" % (os.path.relpath(path, ROOT), line, msg))


def strip_comments_and_strings(text):
    """The code with comments and string/char literals blanked, line
    numbers kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def c_sources():
    return sorted(glob.glob(os.path.join(ROOT, "*.c")))


def all_code_files():
    files = c_sources() + sorted(glob.glob(os.path.join(ROOT, "include", "*.h")))
    for sub in ("tests/unit", "fuzz", "bench"):
        files += sorted(glob.glob(os.path.join(ROOT, sub, "*.[ch]")))
    return files


def check_calls():
    for path in all_code_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            code = strip_comments_and_strings(f.read())
        in_wall = os.path.basename(path).startswith("sys") and path.endswith(".c") and \
            os.path.dirname(path) == ROOT
        program = os.path.dirname(path) in (ROOT, os.path.join(ROOT, "include"))
        for lineno, line in enumerate(code.splitlines(), 1):
            for m in UNBOUNDED_RE.finditer(line):
                report(path, lineno, "unbounded string call %s() (STYLE.md habit 1)" % m.group(1))
            if program and not in_wall:
                for m in CALL_RE.finditer(line):
                    report(path, lineno, "system call %s() outside the sys family: use or add a "
                           "sys_* wrapper" % m.group(1))


def find_cycle(graph):
    """One cycle of a directed graph as a list of nodes, or None."""
    state = {}
    stack = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def check_include_graph():
    graph = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "include", "*.h"))):
        with open(path, encoding="utf-8") as f:
            graph[os.path.basename(path)] = {h for h in INCLUDE_RE.findall(f.read())
                                             if os.path.exists(os.path.join(ROOT, "include", h))}
    cycle = find_cycle(graph)
    if cycle:
        report(os.path.join(ROOT, "include", cycle[0]), 1,
               "the headers include each other in a cycle: " + " -> ".join(cycle))


def nm_symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True,
                         check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) >= 3}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True, check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, used


def check_call_graph(objdir):
    objs = {}
    for src in c_sources():
        name = os.path.splitext(os.path.basename(src))[0]
        obj = os.path.join(objdir, name + ".o")
        if not os.path.exists(obj):
            report(src, 1, "no object file %s: build before lint" % os.path.relpath(obj, ROOT))
            return
        objs[name + ".c"] = nm_symbols(obj)
    owner = {}
    for src, (defined, _) in objs.items():
        for sym in defined:
            owner[sym] = src
    graph = {src: {owner[s] for s in used if s in owner and owner[s] != src}
             for src, (_, used) in objs.items()}
    cycle = find_cycle(graph)
    if cycle:
        report(os.path.join(ROOT, cycle[0]), 1,
               "the source files call each other in a cycle (calls must point down the "
               "layers; pass a callback instead): " + " -> ".join(cycle))
    return graph


FUNC_START_RE = re.compile(r"^[A-Za-z_][\w \*]*\b(\w+)\s*\([^;]*$")


def check_lengths():
    for path in c_sources():
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        if len(lines) > FILE_MAX:
            report(path, 1, "%d lines: more than %d, split it by concern" % (len(lines), FILE_MAX))
        i = 0
        while i < len(lines):
            if lines[i] == "{":
                # The signature: back to the line that starts the definition.
                j = i - 1
                while j > 0 and lines[j] and lines[j][0] in " \t":
                    j -= 1
                end = i + 1
                while end < len(lines) and lines[end] != "}":
                    end += 1
                body = end - i - 1
                if body > FUNC_MAX and FUNC_START_RE.match(lines[j] if j >= 0 else ""):
                    above = "\n".join(lines[max(0, j - 12):j])
                    if "One function:" not in above:
                        report(path, j + 1, "function of %d lines: more than %d without a "
                               "comment above saying \"One function: <why>\"" % (body, FUNC_MAX))
                i = end
            i += 1


def check_format():
    cf = shutil.which("clang-format") or shutil.which("clang-format-14")
    if not cf:
        print("lint: clang-format not installed; the format check is skipped")
        return
    for path in all_code_files():
        r = subprocess.run([cf, "--dry-run", "--Werror", "--style=file", path], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            report(path, 1, "not in .clang-format style (run clang-format -i): " + first)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    check_calls()
    check_include_graph()
    check_call_graph(sys.argv[1])
    check_lengths()
    if os.environ.get("LINT_FORMAT", "1") != "0":
        check_format()
    for f in findings:
        print(f)
    if findings:
        print("lint: %d finding%s" % (len(findings), "" if len(findings) == 1 else "s"))
        return 1
    print("lint: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
