#!/usr/bin/env bash
# Vendor the web application's front-end assets from npm into src/outturn/web/static/vendor/ (every asset is served
# by outturn itself: NHS networks and these machines have no CDN). Run again with new versions to upgrade:
#   NHSUK_FRONTEND_VERSION=10.6.1 HTMX_VERSION=2.0.11 SWAGGER_UI_VERSION=5.35.0 REDOC_VERSION=2.5.4 \
#   ZXCVBN_COMMON_VERSION=4.1.3 scripts/vendor-assets.sh
# swagger-ui-dist and redoc draw the API documentation at /docs and /redoc. The list of common passwords the
# password policy refuses comes from @zxcvbn-ts/language-common (folded to lower case, one a line) and is written to
# src/outturn/services/common_passwords.txt.
# Copies only the compiled CSS/JS and the images the CSS refers to, records versions and licences in
# vendor/VENDORED.md. The NHS.UK stylesheet names the Frutiger web fonts on assets.nhs.uk; those @font-face rules
# are removed (the font is licensed to NHS.UK and not in the package), so pages use the stylesheet's Arial
# fallback. The stylesheet's absolute /assets/ image URLs are made relative to the stylesheet.
set -euo pipefail

NHSUK_FRONTEND_VERSION=${NHSUK_FRONTEND_VERSION:-10.6.1}
HTMX_VERSION=${HTMX_VERSION:-2.0.11}
SWAGGER_UI_VERSION=${SWAGGER_UI_VERSION:-5.35.0}
REDOC_VERSION=${REDOC_VERSION:-2.5.4}
ZXCVBN_COMMON_VERSION=${ZXCVBN_COMMON_VERSION:-4.1.3}
root=$(cd "$(dirname "$0")/.." && pwd)
target="$root/src/outturn/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "nhsuk-frontend@$NHSUK_FRONTEND_VERSION" >/dev/null
npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null
npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null
npm pack --silent "redoc@$REDOC_VERSION" >/dev/null
npm pack --silent "@zxcvbn-ts/language-common@$ZXCVBN_COMMON_VERSION" >/dev/null
mkdir nhsuk htmx swagger redoc zxcvbn
tar xzf "nhsuk-frontend-$NHSUK_FRONTEND_VERSION.tgz" -C nhsuk
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar xzf "swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C swagger
tar xzf "redoc-$REDOC_VERSION.tgz" -C redoc
tar xzf "zxcvbn-ts-language-common-$ZXCVBN_COMMON_VERSION.tgz" -C zxcvbn

rm -rf "$target"
mkdir -p "$target/nhsuk/assets/images" "$target/htmx" "$target/swagger-ui" "$target/redoc"
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
strip_map() {  # copy a compiled file without its closing source-map comment (the maps are not vendored; the same
    # words inside the code, e.g. ReDoc's worker source, are left alone)
    python3 -c 'import re,sys; t=open(sys.argv[1],encoding="utf-8").read(); t=re.sub(r"(//# sourceMappingURL=\S*|/\*# sourceMappingURL=[^*]*\*/)(\s*)\Z", r"\2", t); open(sys.argv[2],"w",encoding="utf-8").write(t)' "$1" "$2"
}
strip_map "$dist/nhsuk-frontend.min.js" "$target/nhsuk/nhsuk-frontend.min.js"
for image in favicon.ico favicon.svg nhsuk-icon-180.png nhsuk-icon-mask.svg \
    nhsuk-icon-arrow-down.svg nhsuk-icon-arrow-up.svg nhsuk-icon-arrow-up-down.svg nhsuk-icon-cross.svg; do
    cp "$dist/assets/images/$image" "$target/nhsuk/assets/images/"
done
cp htmx/package/dist/htmx.min.js "$target/htmx/htmx.min.js"
cp htmx/package/LICENSE "$target/htmx/LICENSE"
strip_map swagger/package/swagger-ui-bundle.js "$target/swagger-ui/swagger-ui-bundle.js"
strip_map swagger/package/swagger-ui.css "$target/swagger-ui/swagger-ui.css"
cp swagger/package/LICENSE swagger/package/NOTICE "$target/swagger-ui/"
strip_map redoc/package/bundles/redoc.standalone.js "$target/redoc/redoc.standalone.js"
# ReDoc's menu shows Redocly's logo from cdn.redoc.ly, which the CSP (img-src 'self' data:) refuses: an empty image
python3 - "$target/redoc/redoc.standalone.js" <<'PY'
import sys
path = sys.argv[1]
js = open(path, encoding="utf-8").read()
cdn = '"https://cdn.redoc.ly/redoc/logo-mini.svg"'
assert js.count(cdn) == 1, "ReDoc's logo address has changed: look again"
js = js.replace(cdn, '"data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E"')
assert "cdn.redoc.ly" not in js
open(path, "w", encoding="utf-8").write(js)
PY
cp redoc/package/LICENSE "$target/redoc/LICENSE"
passwords="$root/src/outturn/services/common_passwords.txt"
python3 - zxcvbn/package/src/passwords.json "$passwords" <<'PY'
import json, sys
seen = dict.fromkeys(word.strip().casefold() for word in json.load(open(sys.argv[1], encoding="utf-8")))
seen.pop("", None)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(seen) + "\n")
PY
cp zxcvbn/package/LICENSE.txt "$root/src/outturn/services/common_passwords.LICENSE.txt"

nhsuk_licence=$(python3 -c "import json;print(json.load(open('nhsuk/package/package.json'))['license'])")
htmx_licence=$(python3 -c "import json;print(json.load(open('htmx/package/package.json'))['license'])")
swagger_licence=$(python3 -c "import json;print(json.load(open('swagger/package/package.json'))['license'])")
redoc_licence=$(python3 -c "import json;print(json.load(open('redoc/package/package.json'))['license'])")
zxcvbn_licence=$(python3 -c "import json;print(json.load(open('zxcvbn/package/package.json'))['license'])")
password_count=$(wc -l < "$passwords" | tr -d ' ')
cat > "$target/VENDORED.md" <<MD
# Vendored front-end assets (written by scripts/vendor-assets.sh; do not edit by hand)

| package | version | licence | files |
|---|---|---|---|
| nhsuk-frontend (NHS England, https://github.com/nhsuk/nhsuk-frontend) | $NHSUK_FRONTEND_VERSION | $nhsuk_licence | nhsuk/nhsuk-frontend.min.css (Frutiger @font-face rules on assets.nhs.uk removed; image URLs made relative), nhsuk/nhsuk-frontend.min.js, nhsuk/assets/images/ (the icons the stylesheet uses, favicons) |
| htmx.org (https://htmx.org) | $HTMX_VERSION | $htmx_licence | htmx/htmx.min.js, htmx/LICENSE |
| swagger-ui-dist (SmartBear, https://github.com/swagger-api/swagger-ui) | $SWAGGER_UI_VERSION | $swagger_licence | swagger-ui/swagger-ui-bundle.js, swagger-ui/swagger-ui.css (source-map comment removed), swagger-ui/LICENSE, swagger-ui/NOTICE: the API documentation at /docs |
| redoc (Redocly, https://github.com/Redocly/redoc) | $REDOC_VERSION | $redoc_licence | redoc/redoc.standalone.js (source-map comment removed; the menu's Redocly logo on cdn.redoc.ly replaced by an empty image), redoc/LICENSE: the API documentation at /redoc |
| @zxcvbn-ts/language-common (https://github.com/zxcvbn-ts/zxcvbn) | $ZXCVBN_COMMON_VERSION | $zxcvbn_licence | not a web asset: its list of common passwords, folded to lower case ($password_count), is src/outturn/services/common_passwords.txt (licence beside it), which the password policy refuses |

The nhsuk-frontend npm package ships no LICENSE file; its package.json declares the MIT licence
(Copyright (c) NHS England, https://github.com/nhsuk/nhsuk-frontend/blob/main/LICENSE.md).
MD
echo "vendored nhsuk-frontend $NHSUK_FRONTEND_VERSION, htmx.org $HTMX_VERSION, swagger-ui-dist $SWAGGER_UI_VERSION" \
    "and redoc $REDOC_VERSION into $target; $password_count common passwords into $passwords"
