#!/bin/sh
# Re-fetch Swagger UI from the npm registry into static/vendor/swagger-ui-dist-<version>/.
# Usage: static/vendor/fetch-swagger-ui.sh [version]   (needs npm, tar, sha256sum)
# npm pack checks the tarball against the registry's integrity hash; only the files the
# reference page loads are copied, with the licence, and their sha256 sums are written beside them.
set -eu
VERSION="${1:-5.35.0}"
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET="$HERE/swagger-ui-dist-$VERSION"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf "swagger-ui-dist-$VERSION.tgz")
mkdir -p "$TARGET"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
    cp "$WORK/package/$file" "$TARGET/$file"
done
(cd "$TARGET" && sha256sum swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE >SHA256SUMS)
echo "Swagger UI $VERSION in $TARGET"
