#!/bin/sh
# Starts a Docker engine in the background for tests and CI when none answers; safe to run twice.
set -eu

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is not installed (apt-get install -y docker.io busybox-static)" >&2
  exit 1
fi

LOG="${THRESH_DOCKERD_LOG:-/tmp/thresh-dockerd.log}"
# Only start one daemon even when two callers race: the pid file is dockerd's own lock.
if [ ! -S /var/run/docker.sock ] || ! pgrep -x dockerd >/dev/null 2>&1; then
  nohup dockerd >"$LOG" 2>&1 &
fi

i=0
while ! docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 60 ]; then
    echo "dockerd did not become ready within 30 s; last log lines:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done
