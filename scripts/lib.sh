# Shared helpers for the scripts in this folder: sourced, never run.
# The tool versions live in Cargo.toml's [workspace.metadata.tools]; this reads them from there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# tool_version NAME: the version pinned for NAME in Cargo.toml's [workspace.metadata.tools].
tool_version() {
  sed -n '/^\[workspace.metadata.tools\]/,/^\[/p' "$ROOT/Cargo.toml" |
    sed -n "s/^$1 *= *\"\\([^\"]*\\)\".*/\\1/p"
}
