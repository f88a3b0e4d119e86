#!/bin/sh
# Refresh the vendored Bootstrap (static/vendor/bootstrap/) from the npm registry; the pages load no CDN.
# Usage: scripts/vendor_bootstrap.sh [VERSION]   (default: the newest 5.3.x). Needs npm.
set -eu
version=${1:-5.3}
dest=$(cd "$(dirname "$0")/.." && pwd)/static/vendor/bootstrap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "bootstrap@$version" >/dev/null && tar -xzf bootstrap-*.tgz)
mkdir -p "$dest/css" "$dest/js"
# The .map files too: the minified files name them, and collectstatic's manifest storage insists they exist.
cp "$tmp/package/dist/css/bootstrap.min.css" "$tmp/package/dist/css/bootstrap.min.css.map" "$dest/css/"
cp "$tmp/package/dist/js/bootstrap.bundle.min.js" "$tmp/package/dist/js/bootstrap.bundle.min.js.map" "$dest/js/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "Bootstrap $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$tmp/package/package.json") -> $dest"
