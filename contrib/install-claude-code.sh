#!/bin/sh
# Install the real Claude Code CLI (npm package @anthropic-ai/claude-code) into a
# cache folder outside the repository, for the opt-in real-agent integration tests.
#
# Usage: contrib/install-claude-code.sh [VERSION] [DIR]
#   VERSION  default 2.1.197
#   DIR      default ${XDG_CACHE_HOME:-$HOME/.cache}/agent-queue/claude-code-VERSION
#
# Idempotent: when DIR already holds a native binary that reports VERSION, npm is
# not run again. The last line on stdout is the absolute path of the native
# `claude` binary (the platform package, e.g. @anthropic-ai/claude-code-linux-x64,
# which npm pulls in as an optional dependency). Everything else goes to stderr.
set -eu

version=${1:-2.1.197}
dir=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-queue/claude-code-$version}

say() { printf '%s\n' "install-claude-code: $*" >&2; }

platform_pkg() {
    os=$(uname -s)
    mach=$(uname -m)
    case "$os" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) say "unsupported OS: $os"; exit 1 ;;
    esac
    case "$mach" in
        x86_64|amd64) mach=x64 ;;
        aarch64|arm64) mach=arm64 ;;
        *) say "unsupported machine: $mach"; exit 1 ;;
    esac
    suffix=
    if [ "$os" = linux ]; then
        # glibc systems have ld-linux; musl ones (Alpine) have ld-musl.
        if ! ls /lib*/ld-linux* /lib/*/ld-linux* >/dev/null 2>&1 \
            && ls /lib/ld-musl* >/dev/null 2>&1; then
            suffix=-musl
        fi
    fi
    printf '%s\n' "@anthropic-ai/claude-code-$os-$mach$suffix"
}

pkg=$(platform_pkg)
bin="$dir/node_modules/$pkg/claude"

has_version() {
    [ -x "$bin" ] || return 1
    out=$("$bin" --version 2>/dev/null) || return 1
    case "$out" in
        "$version "*|"$version") return 0 ;;
        *) return 1 ;;
    esac
}

if has_version; then
    say "claude $version already installed in $dir"
else
    command -v npm >/dev/null 2>&1 || { say "npm not found"; exit 1; }
    mkdir -p "$dir"
    say "installing @anthropic-ai/claude-code@$version into $dir"
    # Output of npm goes to stderr so that stdout ends with the path only.
    npm install --prefix "$dir" --save-exact --no-audit --no-fund \
        "@anthropic-ai/claude-code@$version" 1>&2
    if ! has_version; then
        say "no working native binary at $bin after npm install"
        exit 1
    fi
fi

# Print an absolute path.
case "$bin" in
    /*) printf '%s\n' "$bin" ;;
    *) printf '%s\n' "$(cd "$(dirname "$bin")" && pwd)/claude" ;;
esac
