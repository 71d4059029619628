#!/usr/bin/env bash
# Install (only when missing) the Debian packages the test suite needs:
#   - PostgreSQL server binaries (package `postgresql`), always;
#   - Chromium + chromedriver (packages `chromium`, `chromium-driver`), with --browser.
#
# Usage: scripts/ensure-system-packages.sh [--browser]
set -euo pipefail

want_browser=0
for arg in "$@"; do
    case "$arg" in
        --browser) want_browser=1 ;;
        -h|--help)
            echo "usage: $0 [--browser]"
            exit 0
            ;;
        *)
            echo "ensure-system-packages: unknown argument: $arg (usage: $0 [--browser])" >&2
            exit 2
            ;;
    esac
done

packages=()
found=()

# PostgreSQL server: highest /usr/lib/postgresql/*/bin/initdb.
pg_initdb=""
while IFS= read -r candidate; do
    [[ -x "$candidate" ]] && pg_initdb="$candidate"
done < <(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V || true)
if [[ -n "$pg_initdb" ]]; then
    found+=("postgresql ($(dirname "$pg_initdb"))")
else
    packages+=(postgresql)
fi

if (( want_browser )); then
    if [[ -x /usr/bin/chromium ]]; then
        found+=("chromium")
    else
        packages+=(chromium)
    fi
    if [[ -x /usr/bin/chromedriver ]]; then
        found+=("chromium-driver")
    else
        packages+=(chromium-driver)
    fi
fi

join() {  # join "a" "b" -> "a, b"
    local out="" item
    for item in "$@"; do out+="${out:+, }$item"; done
    echo "$out"
}

if (( ${#packages[@]} == 0 )); then
    echo "ensure-system-packages: all present: $(join ${found[@]+"${found[@]}"}); nothing to install."
    exit 0
fi

if [[ $EUID -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "ensure-system-packages: missing packages: ${packages[*]}" >&2
    echo "Not root and sudo is not available; install them as root with:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system-packages: missing packages: ${packages[*]}, and apt-get is not available;" >&2
    echo "install the equivalents with your system's package manager." >&2
    exit 1
fi

${sudo[@]+"${sudo[@]}"} apt-get update -qq
${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}"

if (( ${#found[@]} > 0 )); then
    echo "ensure-system-packages: installed: ${packages[*]} (already present: $(join "${found[@]}"))."
else
    echo "ensure-system-packages: installed: ${packages[*]}."
fi
