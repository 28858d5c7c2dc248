#!/usr/bin/env bash
# Everything a fresh machine (Debian, Node >= 20.19, root or sudo) needs before
# `pnpm demo` or `pnpm verify`: pnpm itself, the FTP and SSH daemons and the
# Redis server the tests start on loopback, tmux for the terminal display
# test, and the workspace's packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1; then
  # Corepack cannot fetch pnpm here (registry signature check), so npm installs it.
  npm install --global --no-fund --no-audit pnpm@10 >/dev/null
fi

need=()
command -v vsftpd >/dev/null 2>&1 || [ -x /usr/sbin/vsftpd ] || need+=(vsftpd)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
