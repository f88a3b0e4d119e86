#!/bin/sh
# Refresh the vendored Swagger UI (static/vendor/swagger-ui/) from the npm registry: the API docs page
# (static/api/docs.html) loads no CDN. Usage: scripts/vendor_swagger_ui.sh [VERSION] (default: the newest 5.x). Needs npm.
set -eu
version=${1:-5}
dest=$(cd "$(dirname "$0")/.." && pwd)/static/vendor/swagger-ui
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar -xzf swagger-ui-dist-*.tgz)
mkdir -p "$dest"
# The CSS names its .map file, and collectstatic's manifest storage insists it exists (the bundle names none).
for f in swagger-ui.css swagger-ui.css.map swagger-ui-bundle.js LICENSE; do
    cp "$tmp/package/$f" "$dest/"
done
echo "Swagger UI $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$tmp/package/package.json") -> $dest"
