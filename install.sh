#!/bin/sh
# Installs mcp-proxy from its GitHub releases:
#
#   curl -fsSL https://raw.githubusercontent.com/mcp-proxy/mcp-proxy/main/install.sh | sh
#
# Environment (of sh, after the pipe: ... | MCP_PROXY_VERSION=v0.1.0 sh):
#   MCP_PROXY_VERSION       release tag to install (vX.Y.Z); default: the latest release
#   MCP_PROXY_INSTALL       installation root; the binary goes to $MCP_PROXY_INSTALL/bin
#                           (default: $HOME/.mcp-proxy)
#   MCP_PROXY_RELEASES_URL  where releases are downloaded from (default: the GitHub releases page);
#                           a mirror serves latest/download/<asset> and download/<tag>/<asset>,
#                           SHA256SUMS beside each release's archives (README.md, "Get it")
#
# The archive is downloaded to a temporary directory, checked against the release's SHA256SUMS
# and run once (--version) before anything is written to the installation directory: on any
# failure nothing is installed and the exit status is non-zero.
set -eu

REPOSITORY="mcp-proxy/mcp-proxy"
RELEASES_URL="${MCP_PROXY_RELEASES_URL:-https://github.com/$REPOSITORY/releases}"
VERSION="${MCP_PROXY_VERSION:-}"
INSTALL_ROOT="${MCP_PROXY_INSTALL:-$HOME/.mcp-proxy}"

fail() {
  echo "mcp-proxy install: error: $*" >&2
  exit 1
}

# Sets TARGET (the release's target triple), ARCHIVE (zip or tar.gz) and EXE (the file name
# inside the archive) for this machine.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "no mcp-proxy release for the $arch architecture" ;;
  esac
  ARCHIVE=tar.gz
  EXE=mcp-proxy
  case "$os" in
    Linux) TARGET="$arch-unknown-linux-gnu" ;;
    Darwin)
      # An x86_64 shell under Rosetta on Apple silicon: install the native build instead.
      if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
        arch=aarch64
      fi
      TARGET="$arch-apple-darwin"
      ;;
    MINGW* | MSYS* | CYGWIN*)
      TARGET="$arch-pc-windows-msvc"
      ARCHIVE=zip
      EXE=mcp-proxy.exe
      ;;
    *) fail "no mcp-proxy release for the $os operating system" ;;
  esac
}

# download URL FILE: fails on HTTP errors (a missing asset is a 404).
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$2" "$1" || fail "could not download $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || fail "could not download $1"
  else
    fail "curl or wget is needed to download mcp-proxy"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "sha256sum or shasum is needed to verify the download"
  fi
}

# verify DIR ASSET: ASSET's checksum must be the one DIR/SHA256SUMS lists for it.
verify() {
  # Lines are "<hash>  <name>", or "<hash> *<name>" when written in binary mode.
  expected=$(awk -v name="$2" '$2 == name || $2 == "*" name { print $1; exit }' "$1/SHA256SUMS")
  [ -n "$expected" ] || fail "SHA256SUMS lists no checksum for $2"
  actual=$(sha256 "$1/$2")
  [ "$actual" = "$expected" ] || fail "checksum mismatch for $2 (expected $expected, got $actual)"
}

# extract DIR ASSET: unpacks DIR/ASSET into DIR/unpacked.
extract() {
  mkdir "$1/unpacked"
  if [ "$ARCHIVE" = zip ]; then
    command -v unzip >/dev/null 2>&1 || fail "unzip is needed to unpack $2"
    unzip -q "$1/$2" -d "$1/unpacked" || fail "could not unpack $2"
  else
    tar -xzf "$1/$2" -C "$1/unpacked" || fail "could not unpack $2"
  fi
  [ -f "$1/unpacked/$EXE" ] || fail "$2 holds no $EXE"
  chmod +x "$1/unpacked/$EXE"
}

# The installed path as Claude Desktop's JSON config wants it (a Windows path on Windows),
# with JSON string escapes.
json_path() {
  path=$1
  if [ "$ARCHIVE" = zip ] && command -v cygpath >/dev/null 2>&1; then
    path=$(cygpath -m "$path")
  fi
  printf '%s' "$path" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

print_next_steps() {
  bin_dir=$1
  version=$2
  echo "Installed $version to $bin_dir/$EXE"
  case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *)
      echo
      echo "To run it as 'mcp-proxy', add its directory to PATH, e.g. in ~/.profile:"
      echo "  export PATH=\"$bin_dir:\$PATH\""
      ;;
  esac
  echo
  # The README's snippet (Claude Desktop), with this installation's path.
  echo "Claude Desktop (claude_desktop_config.json), to reach a remote MCP server:"
  cat <<EOF
{
  "mcpServers": {
    "remote-example": {
      "command": "$(json_path "$bin_dir/$EXE")",
      "args": ["https://example.com/mcp"],
      "env": { "API_ACCESS_TOKEN": "your-token" }
    }
  }
}
EOF
}

main() {
  detect_target
  asset="mcp-proxy-$TARGET.$ARCHIVE"
  if [ -n "$VERSION" ]; then
    case "$VERSION" in v*) ;; *) VERSION="v$VERSION" ;; esac
    base="$RELEASES_URL/download/$VERSION"
  else
    base="$RELEASES_URL/latest/download"
  fi

  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t mcp-proxy)
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  echo "Downloading $base/$asset" >&2
  download "$base/$asset" "$tmp/$asset"
  download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
  verify "$tmp" "$asset"
  extract "$tmp" "$asset"
  # Also catches a binary this machine cannot run (wrong libc, too old an OS).
  version=$("$tmp/unpacked/$EXE" --version) || fail "the downloaded mcp-proxy does not run here"

  bin_dir="$INSTALL_ROOT/bin"
  mkdir -p "$bin_dir" || fail "could not create $bin_dir"
  # Copy next to the destination, then rename: an existing install is replaced atomically.
  staged="$bin_dir/.$EXE.new"
  if ! { cp "$tmp/unpacked/$EXE" "$staged" && mv -f "$staged" "$bin_dir/$EXE"; }; then
    rm -f "$staged"
    fail "could not write to $bin_dir"
  fi
  print_next_steps "$bin_dir" "$version"
}

main
