#!/bin/bash
# The image's HEALTHCHECK: healthy when mcp-proxy answers GET /status with 200.
#
# It asks the port and host that the running mcp-proxy was given (--port/--sse-port,
# --host/--sse-host, read from its command line in /proc), or MCP_PROXY_HEALTHCHECK_PORT when
# set. Bash's /dev/tcp does the request: the image has no curl.
set -u

port=${MCP_PROXY_HEALTHCHECK_PORT:-}
host=""
for cmdline in /proc/[0-9]*/cmdline; do
  mapfile -d '' -t argv <"$cmdline" 2>/dev/null || continue
  [[ ${#argv[@]} -gt 0 && ${argv[0]##*/} == mcp-proxy ]] || continue
  found_port="" sse_port="" sse_host=""
  for ((i = 1; i < ${#argv[@]}; i++)); do
    arg=${argv[i]} next=${argv[i + 1]:-}
    case "$arg" in
      --) break ;;
      --port) found_port=$next ;;
      --port=*) found_port=${arg#*=} ;;
      --sse-port) sse_port=$next ;;
      --sse-port=*) sse_port=${arg#*=} ;;
      --host) host=$next ;;
      --host=*) host=${arg#*=} ;;
      --sse-host) sse_host=$next ;;
      --sse-host=*) sse_host=${arg#*=} ;;
    esac
  done
  port=${port:-${found_port:-$sse_port}}
  host=${host:-$sse_host}
  break
done

case "$port" in
  "" | 0 | *[!0-9]*)
    echo "mcp-proxy-healthcheck: no --port to check (got '${port}')" >&2
    exit 1
    ;;
esac
# A wildcard bind answers on loopback.
case "$host" in "" | 0.0.0.0 | "::" | "[::]") host=127.0.0.1 ;; esac
host=${host#[}
host=${host%]}

if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "mcp-proxy-healthcheck: cannot connect to $host:$port" >&2
  exit 1
fi
printf 'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
status_line=""
read -r -t 4 status_line <&3
case "$status_line" in
  "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "mcp-proxy-healthcheck: GET /status on $host:$port answered '${status_line%$'\r'}'" >&2
exit 1
