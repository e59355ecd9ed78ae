#!/usr/bin/python3
"""Rewrites HIP kernel launches `kernel<T><<<grid, block, shmem, stream>>>(args)` of a .hip file into
`::hipemu::launch(grid, block, shmem, stream, kernel<T>, args)` so the file compiles as host C++ against
tests/hip/emu/include (hq_backend_tests_emu). Usage: rewrite_launches.py IN.hip OUT.cpp"""
import re
import sys

LAUNCH = re.compile(r"([A-Za-z_][\w:]*(?:<[^<>;()]*>)?)\s*<<<(.+?)>>>\s*\(")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    text = open(src, encoding="utf-8").read()
    out, n = LAUNCH.subn(lambda m: "::hipemu::launch(%s, %s, " % (m.group(2), m.group(1)), text)
    if "<<<" in out:
        sys.exit("rewrite_launches.py: %s: a launch was not recognized" % src)
    with open(dst, "w", encoding="utf-8") as f:
        f.write('#line 1 "%s"\n' % src)
        f.write(out)
    print("rewrite_launches.py: %s: %d launches" % (src, n))


if __name__ == "__main__":
    main()
