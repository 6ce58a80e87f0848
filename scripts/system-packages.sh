#!/usr/bin/env bash
# Debian packages the tests need beyond Python: chromium (browser tests with Playwright) and poppler-utils
# (pdftoppm turns the board pack's PDF pages into PNG). Installs only what is missing; needs root or sudo.
# Without them the tests that need them skip and say why. Extra package names given as arguments are installed
# too when their command is missing (`scripts/system-packages.sh hey` for the web benchmark's load tool).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
for extra in "$@"; do
    command -v "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    echo "system-packages: cannot install ${missing[*]} (not root, no sudo): their tests will skip" >&2
    exit 0
fi
echo "system-packages: installing ${missing[*]} with apt" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    "${run[@]}" apt-get update -qq >/dev/null 2>&1 || true
    "${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
        || echo "system-packages: apt could not install ${missing[*]}: their tests will skip" >&2
fi
