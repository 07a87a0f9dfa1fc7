#!/bin/sh
# thresh agent installer, served by the hub at /install/agent.sh. It holds no secret: the agent key
# comes from the command pasted on the node (THRESH_API_KEY), the hub URL and the fleet CA pin as
# arguments. `thresh keys create --type agent` and the dashboard's "Add node" print that command.
#
#   THRESH_API_KEY=thresh_live_… sh agent.sh --hub URL [--fingerprint sha256:HEX [--ca FILE]]
#       [--name NODE] [--prefix DIR] [--timeout SECONDS]
#
# With --fingerprint it downloads the fleet CA (or takes the one --ca names, already checked by the
# pasted command), checks its SHA-256 against the pin and uses it for every download; the agent pins
# it too (hub-fingerprint). It installs the agent (the single executable, or the one-file module
# when Node >= 20 or Deno is there), writes its settings, runs it (a systemd unit when root on
# systemd, else in the background) and waits until it is online. --prefix DIR (or THRESH_PREFIX)
# installs under DIR and runs it in the background. Run again, it updates in place.
set -eu

say() { printf 'thresh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

hub='' fingerprint='' ca='' name='' prefix=${THRESH_PREFIX:-} timeout=${THRESH_INSTALL_TIMEOUT:-90}
while [ $# -gt 0 ]; do
  case $1 in
    --hub|--fingerprint|--ca|--name|--prefix|--timeout)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --hub) hub=$2 ;; --fingerprint) fingerprint=$2 ;; --ca) ca=$2 ;;
        --name) name=$2 ;; --prefix) prefix=$2 ;; --timeout) timeout=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown option '$1' (options: --hub URL, --fingerprint sha256:HEX, --ca FILE, --name NODE, --prefix DIR, --timeout SECONDS)" ;;
  esac
done

key=${THRESH_API_KEY:-}
[ -n "$hub" ] || die "--hub URL is missing: the hub this node joins"
hub=${hub%/}
case $hub in http://*|https://*) ;; *) die "--hub must be an http:// or https:// URL, not '$hub'" ;; esac
[ -n "$key" ] || die "THRESH_API_KEY is missing: the agent key (thresh_live_…) from thresh keys create --type agent"
case $key in thresh_live_*_*) ;; *) die "THRESH_API_KEY is not an agent key (thresh_live_<account>_<secret>)" ;; esac
case $timeout in ''|*[!0-9]*) die "--timeout must be a number of seconds, not '$timeout'" ;; esac
command -v curl >/dev/null 2>&1 || die "curl is needed to download the agent"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$fingerprint" ]; then
  hex=$(printf '%s' "${fingerprint#sha256:}" | tr 'A-F' 'a-f')
  case $fingerprint in sha256:*) ;; *) die "--fingerprint must be sha256:<64 hex digits>, not '$fingerprint'" ;; esac
  [ ${#hex} -eq 64 ] || die "--fingerprint must be sha256:<64 hex digits>, not '$fingerprint'"
  if [ -z "$ca" ]; then
    ca=$work/ca.pem
    # Not verified yet: what is downloaded is checked against the pin before anything trusts it.
    curl -fsSk "$hub/install/ca.pem" -o "$ca" || die "cannot download the fleet CA from $hub/install/ca.pem"
  fi
  got=$(sed '/-----/d' "$ca" | base64 -d | sha256sum | cut -d' ' -f1)
  [ "$got" = "$hex" ] || die "the hub's fleet CA is sha256:$got, not the pinned sha256:$hex: refusing to install (check the fingerprint the hub prints at start)"
fi
fetch() {
  if [ -n "$ca" ]; then curl -fsS --cacert "$ca" "$1" -o "$2"; else curl -fsS "$1" -o "$2"; fi
}

# Where it goes.
systemd=''
if [ -n "$prefix" ]; then
  prefix=$(cd "$(dirname "$prefix")" && pwd)/$(basename "$prefix")
  lib=$prefix/lib/thresh home=$prefix/var/lib/thresh
elif [ "$(id -u)" = 0 ]; then
  lib=/usr/local/lib/thresh home=/var/lib/thresh
  [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && systemd=yes
else
  lib=$HOME/.local/lib/thresh home=${THRESH_HOME:-$HOME/.thresh}
fi
mkdir -p "$lib" "$home"
chmod 700 "$home"

# What runs it: Node >= 20 or Deno with the one-file module (1–2 MB), else the single executable.
os=$(uname -s | tr 'A-Z' 'a-z')
arch=$(uname -m)
case $arch in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; esac
node=$(command -v node 2>/dev/null || true)
deno=$(command -v deno 2>/dev/null || true)
if [ -n "$node" ] && [ "$("$node" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
  fetch "$hub/install/thresh-agent.mjs" "$work/agent" || die "cannot download the agent from $hub/install/thresh-agent.mjs"
  mv -f "$work/agent" "$lib/thresh-agent.mjs"
  run="$node $lib/thresh-agent.mjs"
elif fetch "$hub/install/thresh-agent-$os-$arch" "$work/agent" 2>/dev/null; then
  chmod 755 "$work/agent"
  mv -f "$work/agent" "$lib/thresh-agent"
  run=$lib/thresh-agent
elif [ -n "$deno" ]; then
  fetch "$hub/install/thresh-agent.mjs" "$work/agent" || die "cannot download the agent from $hub/install/thresh-agent.mjs"
  mv -f "$work/agent" "$lib/thresh-agent.mjs"
  run="$deno run -A $lib/thresh-agent.mjs"
else
  die "this node has neither Node >= 20 nor Deno, and the hub has no single executable for $os-$arch (make it on the hub: npm run build:agent)"
fi

# Its settings, checked by the agent itself; the agent id in $home is kept, so it stays the same node.
agent() { THRESH_HOME=$home NO_COLOR=1 $run "$@"; }
agent config set midtier-url "$hub" >/dev/null
agent config set api-key "$key" >/dev/null
if [ -n "$fingerprint" ]; then agent config set hub-fingerprint "sha256:$hex" >/dev/null; fi
if [ -n "$name" ]; then agent config set node-name "$name" >/dev/null; fi

# Run it.
started=$(date +%s)
if [ -n "$systemd" ]; then
  unit=/etc/systemd/system/thresh-agent.service
  cat > "$unit.new" <<UNIT
[Unit]
Description=thresh agent
After=network-online.target docker.service
Wants=network-online.target

[Service]
Environment=THRESH_HOME=$home
Environment=NO_COLOR=1
ExecStart=$run
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
  mv -f "$unit.new" "$unit"
  systemctl daemon-reload
  systemctl enable thresh-agent >/dev/null 2>&1
  systemctl restart thresh-agent
  how='systemd unit thresh-agent'
  logs() { journalctl -u thresh-agent --since "@$started" -o cat --no-pager 2>/dev/null || true; }
  alive() { systemctl is-active --quiet thresh-agent; }
  halt() { systemctl disable --now thresh-agent >/dev/null 2>&1 || true; }
else
  pidfile=$home/agent.pid log=$home/agent.log
  ours() { [ -f "$pidfile" ] && pid=$(cat "$pidfile") && kill -0 "$pid" 2>/dev/null && grep -q thresh-agent "/proc/$pid/cmdline" 2>/dev/null; }
  if ours; then
    kill "$pid"
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  fi
  touch "$log" && chmod 600 "$log"
  offset=$(wc -l < "$log")
  THRESH_HOME=$home NO_COLOR=1 nohup $run >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  how="background process $(cat "$pidfile") (log $log)"
  logs() { tail -n +"$((offset + 1))" "$log"; }
  alive() { ours; }
  halt() { if ours; then kill "$pid"; fi; rm -f "$pidfile"; }
fi

# Online: the agent says it connected; a refused key does not fix itself, so that ends the wait.
last=''
i=0
while [ $i -lt "$timeout" ]; do
  out=$(logs)
  case $out in *'Connected to '*) say "✓ the agent is online on $hub ($how)"; exit 0 ;; esac
  last=$(printf '%s\n' "$out" | grep 'Cannot connect to ' | tail -n 1 | sed 's/^.*Cannot connect to [^ ]*: //')
  case $last in *'refused the agent key'*) halt; die "$last" ;; esac
  if ! alive; then die "the agent stopped: $(printf '%s\n' "$out" | tail -n 5)"; fi
  sleep 1
  i=$((i + 1))
done
die "the agent did not come online within ${timeout}s${last:+: $last} ($how)"
