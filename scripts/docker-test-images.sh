#!/bin/sh
# Builds the images the stack tests use, offline, from Debian's busybox-static; safe to run twice.
# thresh-test/busybox:1 serves /www over HTTP on $PORT (default 8080): /env.txt is its environment,
# /cgi-bin/write?V stores V in $DATA_DIR/value, /cgi-bin/read returns it, /cgi-bin/get?host:port/path
# fetches from another service; FAIL=1 makes it exit at once with status 3.
# thresh-test/broken:1 is the same image with FAIL=1 (a release that crashes on start), and traefik:v3.3
# is a stand-in that accepts Traefik's flags (written to /www/args.txt) and serves HTTP on port 80.
set -eu

IMAGE=thresh-test/busybox:1

if ! docker image inspect "$IMAGE" thresh-test/busybox:2 thresh-test/broken:1 traefik:v3.3 >/dev/null 2>&1; then
  BUSYBOX=$(command -v busybox || true)
  if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
    BUSYBOX=/bin/busybox
  fi
  ROOT=$(mktemp -d)
  trap 'rm -rf "$ROOT"' EXIT
  mkdir -p "$ROOT/bin" "$ROOT/www/cgi-bin" "$ROOT/data" "$ROOT/tmp" "$ROOT/etc"
  cp "$BUSYBOX" "$ROOT/bin/busybox"
  for app in $("$BUSYBOX" --list); do
    [ "$app" = busybox ] || ln -s busybox "$ROOT/bin/$app"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$ROOT/etc/passwd"
  echo 'root:x:0:' >"$ROOT/etc/group"
  cat >"$ROOT/serve" <<'SH'
#!/bin/sh
[ "${FAIL:-0}" = 1 ] && { echo "failing on purpose" >&2; exit 3; }
mkdir -p "${DATA_DIR:-/data}"
env | sort >/www/env.txt
printf '%s\n' "$@" >/www/args.txt
echo "${VERSION:-0}" >/www/version.txt
echo boot >>"${DATA_DIR:-/data}/boots"
# As PID 1 httpd would ignore SIGTERM and every stop would wait for the kill timeout.
httpd -f -p "${PORT:-8080}" -h /www &
trap 'kill $!; exit 0' TERM INT
wait
SH
  cat >"$ROOT/www/cgi-bin/write" <<'SH'
#!/bin/sh
printf '%s' "$QUERY_STRING" >"${DATA_DIR:-/data}/value"
printf 'Content-Type: text/plain\r\n\r\nok'
SH
  cat >"$ROOT/www/cgi-bin/read" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
cat "${DATA_DIR:-/data}/value" 2>/dev/null
SH
  cat >"$ROOT/www/cgi-bin/boots" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
wc -l <"${DATA_DIR:-/data}/boots"
SH
  cat >"$ROOT/www/cgi-bin/get" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
# busybox wget crashes under CGI here; nc with a hand-written request does the same job.
target=${QUERY_STRING%%/*}
path=/${QUERY_STRING#*/}
[ "$target" = "$QUERY_STRING" ] && path=/
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$target" | nc -w 3 "${target%:*}" "${target##*:}" | sed '1,/^\r*$/d'
SH
  chmod 755 "$ROOT/serve" "$ROOT"/www/cgi-bin/*
  # Version 2 differs only in its VERSION variable: enough for rolling-update tests to tell them apart.
  for version in 2 1; do
    tar -C "$ROOT" -c . | docker import \
      --change 'ENV PATH=/bin' \
      --change 'ENV PORT=8080' \
      --change "ENV VERSION=$version" \
      --change 'WORKDIR /' \
      --change 'CMD ["/serve"]' \
      - "thresh-test/busybox:$version" >/dev/null
  done
  tar -C "$ROOT" -c . | docker import --change 'ENV PATH=/bin' --change 'ENV FAIL=1' \
    --change 'CMD ["/serve"]' - thresh-test/broken:1 >/dev/null
  tar -C "$ROOT" -c . | docker import --change 'ENV PATH=/bin' --change 'ENV PORT=80' \
    --change 'ENTRYPOINT ["/serve"]' - traefik:v3.3 >/dev/null
fi

# thresh-test/caddy:latest is Debian's caddy (its binary and the libraries ldd lists), for the routing
# tests of runtime-caddy: a real Caddy, built without a registry.
if ! docker image inspect thresh-test/caddy:latest >/dev/null 2>&1; then
  if ! command -v caddy >/dev/null 2>&1; then
    apt-get install -y caddy >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y caddy >/dev/null; }
  fi
  CADDY=$(command -v caddy)
  CROOT=$(mktemp -d)
  mkdir -p "$CROOT/usr/bin" "$CROOT/etc/thresh" "$CROOT/tmp" "$CROOT/data" "$CROOT/config"
  chmod 1777 "$CROOT/tmp"
  cp "$CADDY" "$CROOT/usr/bin/caddy"
  for lib in $(ldd "$CADDY" | grep -o '/[^ ]*'); do
    mkdir -p "$CROOT$(dirname "$lib")"
    cp -L "$lib" "$CROOT$lib"
  done
  echo 'root:x:0:0:root:/data:/usr/bin/caddy' >"$CROOT/etc/passwd"
  echo '{"admin":{"listen":"localhost:2019"}}' >"$CROOT/etc/thresh/caddy.json"
  tar -C "$CROOT" -c . | docker import \
    --change 'ENV PATH=/usr/bin' \
    --change 'ENV XDG_CONFIG_HOME=/config' \
    --change 'ENV XDG_DATA_HOME=/data' \
    --change 'ENV HOME=/data' \
    --change 'EXPOSE 80' \
    --change 'CMD ["caddy", "run", "--config", "/etc/thresh/caddy.json"]' \
    - thresh-test/caddy:latest >/dev/null
  rm -rf "$CROOT"
fi
