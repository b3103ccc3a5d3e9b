#!/usr/bin/env bash
# Prints the CHANGELOG.md section of one version (its body, without the heading): the release notes.
#   bash scripts/release-notes.sh v1.2.3 [CHANGELOG.md]
# The heading may be `## [1.2.3]`, `## [v1.2.3]`, `## 1.2.3` or `## v1.2.3`, with anything after it
# (` - 2026-05-01`). Fails when the section is missing or empty: every release is written down first.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 VERSION [CHANGELOG.md]" >&2; exit 2; }
version=${1#v}
file=${2:-CHANGELOG.md}
[ -f "$file" ] || { echo "error: $file does not exist" >&2; exit 1; }
notes=$(awk -v v="$version" '
  /^## / {
    h = $0
    sub(/^## +\[?v?/, "", h)
    if (insec) exit
    if (index(h, v) == 1 && substr(h, length(v) + 1) ~ /^($|[] ])/) { insec = 1; next }
  }
  insec { print }' "$file")
if [ -z "$(tr -d '[:space:]' <<<"$notes")" ]; then
  echo "error: $file has no section for $version (a heading \`## [$version] - YYYY-MM-DD\` with the changes under it)" >&2
  echo "hint: rename the \`## [Unreleased]\` section to \`## [$version] - $(date +%F)\` on main before releasing" >&2
  exit 1
fi
printf '%s\n' "$notes"
