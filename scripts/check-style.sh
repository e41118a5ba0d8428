#!/bin/sh
# check-style.sh - the mechanical part of docs' style rules (shared/style.md), run by `make style`.
# Prints one line per finding (FILE:LINE: what) and exits 1 if there is any, 0 otherwise.
#
# Checks, and the simple rule each one uses:
#  1. purpose block: every src/**/*.c starts with a block comment ("/*" on its first line).
#  2. include guard: every include/llmload/*.h has "#ifndef X" then "#define X" as its first two
#     preprocessor lines, and the file ends with "#endif".
#  3. no util.c (nor util.h) anywhere under src/ or include/: a file of leftovers has no one concern.
#  4. no mutable globals outside src/main.c and the simulator's tree (src/sim/, whose loop state
#     is file-scope by design). Outside them, a variable declared `static` (at file scope or inside a
#     function) or a column-0 declaration without `static` must be const. The rule, on each line:
#     the text before the first "=", ";" or "{" is the declaration; if it has a "(" it is a function
#     (or a function pointer: not checked); else it is const when it has "const" and, if it has a
#     "*", a "const" after the last "*" (so `static const char *names[]`, an array of mutable
#     pointers, is a finding and `static const char *const names[]` is not). Multi-line
#     declarations are judged by their first line.
set -u
cd "$(dirname "$0")/.." || exit 2
bad=0
say() { printf '%s\n' "$1"; bad=1; }

# 1. purpose block
for f in $(find src -name '*.c' | sort); do
    head -n 1 "$f" | grep -q '^/\*' || say "$f:1: no purpose block comment at the top"
done

# 2. include guards
for h in include/llmload/*.h; do
    guard=$(grep -m 1 -n '^#' "$h")
    def=$(grep -m 2 '^#' "$h" | tail -n 1)
    name=$(printf '%s' "$guard" | sed -n 's/^[0-9]*:#ifndef[ \t]*\([A-Za-z0-9_]*\).*/\1/p')
    if [ -z "$name" ] || [ "$def" != "#define $name" ]; then
        say "$h:${guard%%:*}: no include guard (#ifndef X / #define X first)"
    elif ! tail -n 3 "$h" | grep -q '^#endif'; then
        say "$h: include guard $name not closed by a final #endif"
    fi
done

# 3. no util.c
for f in $(find src include -name 'util.[ch]' | sort); do
    say "$f: a util file (one .c per concern: name it for what it does)"
done

# 4. no mutable globals
for f in $(find src -name '*.c' ! -path 'src/sim/*' ! -path 'src/main.c' | sort); do
    found=$(awk -v file="$f" '
        function mutable(decl,   i, tail) {
            if (decl !~ /(^|[^A-Za-z0-9_])const([^A-Za-z0-9_]|$)/)
                return 1
            i = 0
            while (match(substr(decl, i + 1), /\*/))
                i += RSTART
            if (i == 0)
                return 0
            tail = substr(decl, i + 1)
            return tail !~ /^[ \t]*const([^A-Za-z0-9_]|$)/
        }
        /^[ \t]*\/?\*/ { next }                      # comment lines
        {
            line = $0
            sub(/\/\/.*/, "", line)
            is_static = line ~ /^[ \t]*static[ \t]/
            is_global = line ~ /^[A-Za-z_]/ && line !~ /^(static|typedef|extern|struct|union|enum|return|goto|case|default)([^A-Za-z0-9_]|$)/
            if (!is_static && !is_global)
                next
            decl = line
            sub(/[=;{].*/, "", decl)
            if (decl ~ /\(/)
                next                                 # a function
            if (is_global && line !~ /[=;]/)
                next                                 # not a declaration ending here (a label...)
            if (mutable(decl))
                printf "%s:%d: mutable %s variable (make it const, or move the state into a struct the caller owns)\n", file, NR, is_static ? "static" : "global"
        }' "$f")
    if [ -n "$found" ]; then
        printf '%s\n' "$found"
        bad=1
    fi
done

if [ "$bad" -ne 0 ]; then
    echo "check-style: findings above (rules: scripts/check-style.sh)" >&2
    exit 1
fi
echo "check-style: ok"
