#!/usr/bin/env bash
# Copy into web/static/vendor/ the few files of bpmn-js a page needs to show or
# edit a diagram, so that running or testing nrmflow never needs npm or a CDN.
# Rebuild: web/assets/vendor.sh   (upgrade: see web/assets/README.md)
set -euo pipefail
assets="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$assets/../.." && pwd)"
target="$repo/web/static/vendor/bpmn-js"

cd "$assets"
npm ci --no-audit --no-fund --ignore-scripts
package="$assets/node_modules/bpmn-js"
version="$(node -p "require('$package/package.json').version")"

rm -rf "$target"
mkdir -p "$target/assets/bpmn-font/css" "$target/assets/bpmn-font/font"
cp "$package/dist/bpmn-navigated-viewer.production.min.js" "$package/dist/bpmn-modeler.production.min.js" \
  "$target/"
cp "$package/dist/assets/diagram-js.css" "$package/dist/assets/bpmn-js.css" "$target/assets/"
# The icon font: bpmn.css with the formats every current browser picks first.
# bpmn-embedded.css (the same font inlined), bpmn-codes.css (a subset of bpmn.css)
# and the eot/ttf/svg fallbacks for old browsers would triple the size for nothing.
cp "$package/dist/assets/bpmn-font/css/bpmn.css" "$target/assets/bpmn-font/css/"
cp "$package/dist/assets/bpmn-font/font/bpmn.woff2" "$package/dist/assets/bpmn-font/font/bpmn.woff" \
  "$target/assets/bpmn-font/font/"
cp "$package/LICENSE" "$target/"
echo "$version" > "$target/VERSION"

echo "vendored bpmn-js $version into ${target#"$repo/"}: $(du -sk "$target" | cut -f1) KB"
