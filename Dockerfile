# The mcp-proxy image: Debian slim, a non-root user and the standalone executable that
# `deno task build` makes, copied from dist/ (no compiler in the image). Build that executable
# for each architecture the image is built for first (Docker sets TARGETARCH to amd64 or arm64):
#
#   deno task build --target bun-linux-x64 --outfile dist/linux-amd64/mcp-proxy
#   deno task build --target bun-linux-arm64 --outfile dist/linux-arm64/mcp-proxy
#   docker build -t mcp-proxy .
#   docker build -t mcp-proxy:node --target node .
#
# Stages: `plain` (the default, last), `node` (+ Node.js, npm, npx), `uv` (+ Python 3, uv, uvx);
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

FROM base AS npm-download
# npm from the npm registry: Debian's own npm package pulls in node-gyp and a compiler (+300 MB).
ARG NPM_VERSION=10.9.9
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
  && npm install --global --prefix /opt/npm --no-audit --no-fund --loglevel=error "npm@${NPM_VERSION}"

FROM base AS node-packages
# Debian's Node.js 18 with that npm, for `npx -y <package>` servers.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY --from=npm-download /opt/npm /usr/local

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
