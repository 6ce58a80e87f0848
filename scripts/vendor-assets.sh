#!/usr/bin/env bash
# Vendor the web application's front-end assets from npm into src/outturn/web/static/vendor/ (every asset is served
# by outturn itself: NHS networks and these machines have no CDN). Run again with new versions to upgrade:
#   NHSUK_FRONTEND_VERSION=10.6.1 HTMX_VERSION=2.0.11 scripts/vendor-assets.sh
# Copies only the compiled CSS/JS and the images the CSS refers to, records versions and licences in
# vendor/VENDORED.md. The NHS.UK stylesheet names the Frutiger web fonts on assets.nhs.uk; those @font-face rules
# are removed (the font is licensed to NHS.UK and not in the package), so pages use the stylesheet's Arial
# fallback. The stylesheet's absolute /assets/ image URLs are made relative to the stylesheet.
set -euo pipefail

NHSUK_FRONTEND_VERSION=${NHSUK_FRONTEND_VERSION:-10.6.1}
HTMX_VERSION=${HTMX_VERSION:-2.0.11}
root=$(cd "$(dirname "$0")/.." && pwd)
target="$root/src/outturn/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "nhsuk-frontend@$NHSUK_FRONTEND_VERSION" >/dev/null
npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null
mkdir nhsuk htmx
tar xzf "nhsuk-frontend-$NHSUK_FRONTEND_VERSION.tgz" -C nhsuk
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx

rm -rf "$target"
mkdir -p "$target/nhsuk/assets/images" "$target/htmx"
dist=nhsuk/package/dist/nhsuk
python3 - "$dist/nhsuk-frontend.min.css" "$target/nhsuk/nhsuk-frontend.min.css" <<'PY'
import re, sys
css = open(sys.argv[1], encoding="utf-8").read()
css = re.sub(r"@font-face\{[^}]*assets\.nhs\.uk[^}]*\}", "", css)
css = css.replace("url(/assets/", "url(assets/")
css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
assert "assets.nhs.uk" not in css, "the stylesheet still names assets.nhs.uk"
open(sys.argv[2], "w", encoding="utf-8").write(css)
PY
python3 -c 'import re,sys; js=open(sys.argv[1]).read(); open(sys.argv[2],"w").write(re.sub(r"//# sourceMappingURL=\S*", "", js))' \
    "$dist/nhsuk-frontend.min.js" "$target/nhsuk/nhsuk-frontend.min.js"
for image in favicon.ico favicon.svg nhsuk-icon-180.png nhsuk-icon-mask.svg \
    nhsuk-icon-arrow-down.svg nhsuk-icon-arrow-up.svg nhsuk-icon-arrow-up-down.svg nhsuk-icon-cross.svg; do
    cp "$dist/assets/images/$image" "$target/nhsuk/assets/images/"
done
cp htmx/package/dist/htmx.min.js "$target/htmx/htmx.min.js"
cp htmx/package/LICENSE "$target/htmx/LICENSE"

nhsuk_licence=$(python3 -c "import json;print(json.load(open('nhsuk/package/package.json'))['license'])")
htmx_licence=$(python3 -c "import json;print(json.load(open('htmx/package/package.json'))['license'])")
cat > "$target/VENDORED.md" <<MD
# Vendored front-end assets (written by scripts/vendor-assets.sh; do not edit by hand)

| package | version | licence | files |
|---|---|---|---|
| nhsuk-frontend (NHS England, https://github.com/nhsuk/nhsuk-frontend) | $NHSUK_FRONTEND_VERSION | $nhsuk_licence | nhsuk/nhsuk-frontend.min.css (Frutiger @font-face rules on assets.nhs.uk removed; image URLs made relative), nhsuk/nhsuk-frontend.min.js, nhsuk/assets/images/ (the icons the stylesheet uses, favicons) |
| htmx.org (https://htmx.org) | $HTMX_VERSION | $htmx_licence | htmx/htmx.min.js, htmx/LICENSE |

The nhsuk-frontend npm package ships no LICENSE file; its package.json declares the MIT licence
(Copyright (c) NHS England, https://github.com/nhsuk/nhsuk-frontend/blob/main/LICENSE.md).
MD
echo "vendored nhsuk-frontend $NHSUK_FRONTEND_VERSION and htmx.org $HTMX_VERSION into $target"
