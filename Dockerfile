# The mcp-proxy image: Debian slim, a non-root user and the standalone executable that
# `deno task build` makes, copied from dist/ (no compiler in the image). Build that executable
# for each architecture the image is built for first (Docker sets TARGETARCH to amd64 or arm64):
#
#   deno task build --target bun-linux-x64 --outfile dist/linux-amd64/mcp-proxy
#   deno task build --target bun-linux-arm64 --outfile dist/linux-arm64/mcp-proxy
#   docker build -t mcp-proxy .
#   docker build -t mcp-proxy:node --target node .
#
# Stages: `plain` (the default, last), `node` (+ Node.js 22, npm, npx), `uv` (+ Python 3, uv, uvx);
# pick one with --target. Each variant's packages sit below the executable, so rebuilding the
# executable reuses the cached package layer.

FROM docker.io/library/debian:bookworm-slim AS base
ARG VERSION=dev
# The project has no licence file yet: SPDX's "no assertion" until it has one.
ARG LICENSE=NOASSERTION
LABEL org.opencontainers.image.title="mcp-proxy" \
  org.opencontainers.image.description="Bridge between MCP transports: stdio servers over SSE and Streamable HTTP, and back" \
  org.opencontainers.image.source="https://github.com/mcp-proxy/mcp-proxy" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.licenses="${LICENSE}"
# A fixed uid, so that volumes can be prepared for it on the host.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/mcp --shell /bin/bash mcp
COPY --chmod=0755 container/healthcheck.sh /usr/local/bin/mcp-proxy-healthcheck
WORKDIR /home/mcp
EXPOSE 8096
# GET /status on the port given with --port (see container/healthcheck.sh).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["mcp-proxy-healthcheck"]
ENTRYPOINT ["mcp-proxy"]
CMD ["--help"]

FROM base AS node-download
# Node.js 22 (LTS) from the npm registry, where Node.js's Linux builds are published as
# node-linux-<arch> (Debian bookworm's nodejs is 18, past its end of life), and npm from there
# too; each tarball is checked against the registry's sha512. Laid out as Node.js's own tarball
# is: bin/node, lib/node_modules/npm, and bin/npm and bin/npx pointing into npm.
ARG TARGETARCH
ARG NODE_VERSION=22.23.5
ARG NODE_SHA512_AMD64=3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
ARG NODE_SHA512_ARM64=e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
ARG NPM_VERSION=10.9.9
ARG NPM_SHA512=1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates
RUN set -eu; \
  case "$TARGETARCH" in \
    amd64) arch=x64; node_sha512="$NODE_SHA512_AMD64" ;; \
    arm64) arch=arm64; node_sha512="$NODE_SHA512_ARM64" ;; \
    *) echo "no Node.js build for TARGETARCH=$TARGETARCH" >&2; exit 1 ;; \
  esac; \
  fetch() { \
    curl -fsSL --retry 3 -o "$1" "https://registry.npmjs.org/$2"; \
    test "$(openssl dgst -sha512 -binary "$1" | base64 -w0)" = "$3" \
      || { echo "$2: sha512 mismatch" >&2; exit 1; }; \
  }; \
  fetch /tmp/node.tgz "node-linux-$arch/-/node-linux-$arch-$NODE_VERSION.tgz" "$node_sha512"; \
  fetch /tmp/npm.tgz "npm/-/npm-$NPM_VERSION.tgz" "$NPM_SHA512"; \
  mkdir -p /opt/node/bin /opt/node/lib/node_modules/npm; \
  tar -xzf /tmp/node.tgz -C /opt/node/bin --strip-components=2 package/bin/node; \
  tar -xzf /tmp/npm.tgz -C /opt/node/lib/node_modules/npm --strip-components=1; \
  ln -s ../lib/node_modules/npm/bin/npm-cli.js /opt/node/bin/npm; \
  ln -s ../lib/node_modules/npm/bin/npx-cli.js /opt/node/bin/npx; \
  rm /tmp/node.tgz /tmp/npm.tgz

FROM base AS node-packages
# ca-certificates: npx reaches the npm registry over TLS.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node-download /opt/node /usr/local

FROM base AS uv-packages
# Debian's Python 3.11 and uv from PyPI, for `uvx <package>` servers.
ARG UV_VERSION=0.13.9
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && python3 -m venv /opt/uv \
  && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}" \
  && ln -s /opt/uv/bin/uv /opt/uv/bin/uvx /usr/local/bin/

FROM node-packages AS node
ARG TARGETARCH
COPY --chmod=0755 dist/linux-${TARGETARCH}/mcp-proxy /usr/local/bin/mcp-proxy
USER mcp

FROM uv-packages AS uv
ARG TARGETARCH
COPY --chmod=0755 dist/linux-${TARGETARCH}/mcp-proxy /usr/local/bin/mcp-proxy
USER mcp

FROM base AS plain
ARG TARGETARCH
COPY --chmod=0755 dist/linux-${TARGETARCH}/mcp-proxy /usr/local/bin/mcp-proxy
USER mcp
