# Puts Node 24 (.node-version) first on PATH when the machine's Node is older than 22.12, the
# floor in package.json. Source it: `. scripts/use-node.sh`. The binary comes from the npm
# registry's node-<os>-<arch> package (the package is the binary; nothing else is downloaded),
# installed once into the user's cache folder and reused after that. Returns non-zero, saying so,
# when no Node of at least 22.12 could be put first.

use_node_major="$(tr -d ' \n' < "$(dirname "${BASH_SOURCE[0]:-$0}")/../.node-version")"
use_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}
if ! use_node_ok; then
  case "$(uname -m)" in
    x86_64 | amd64) use_node_arch=x64 ;;
    aarch64 | arm64) use_node_arch=arm64 ;;
    *) use_node_arch="$(uname -m)" ;;
  esac
  use_node_package="node-$(uname -s | tr '[:upper:]' '[:lower:]')-${use_node_arch}"
  use_node_prefix="${XDG_CACHE_HOME:-$HOME/.cache}/maintainx-webhooks/node${use_node_major}"
  use_node_bin="$use_node_prefix/node_modules/$use_node_package/bin"
  if [ ! -x "$use_node_bin/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo "(none)") is older than 22.12: installing Node ${use_node_major} from the package ${use_node_package} into ${use_node_prefix}" >&2
    npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$use_node_prefix" "${use_node_package}@${use_node_major}" >&2 ||
      echo "Could not install ${use_node_package}@${use_node_major}: install Node ${use_node_major} yourself (https://nodejs.org)." >&2
  fi
  if [ -x "$use_node_bin/node" ]; then
    PATH="$use_node_bin:$PATH"
    export PATH
  fi
fi
use_node_status=0
if ! use_node_ok; then
  echo "Node $(node --version 2>/dev/null || echo "(none)") is older than 22.12 and no Node ${use_node_major} could be installed." >&2
  use_node_status=1
fi
unset use_node_major use_node_arch use_node_package use_node_prefix use_node_bin
unset -f use_node_ok
# shellcheck disable=SC2317 # `exit` runs only when this file is executed rather than sourced.
return "$use_node_status" 2>/dev/null || exit "$use_node_status"
