#!/bin/bash
# Fails when a C file under src/, tests/ or bench/ differs from what
# clang-format makes of it with the repository's .clang-format.
# Usage: test_format.sh SOURCE_DIR
set -uo pipefail
cd "${1:?source dir}" || exit 1
if ! command -v clang-format >/dev/null; then
        echo "SKIP: clang-format is not installed"
        exit 77
fi
passed=0
failed=0
while IFS= read -r f; do
        if clang-format --style=file --dry-run --Werror "$f" 2>/dev/null; then
                passed=$((passed + 1))
        else
                echo "FAIL $f (run: clang-format -i $f)"
                failed=$((failed + 1))
        fi
done < <(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null || find src tests bench -name '*.[ch]')
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
