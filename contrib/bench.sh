#!/usr/bin/env bash
# agent-queue's benchmark: the figures of the performance table,
# all measured in one run, on a private tmux server with the stand-in agent
# (contrib/stand-in-agent.sh). Not part of `cargo test`: it is timed.
#
#   contrib/bench.sh
#
# It builds the release binary (`cargo build --release`) unless
# AQ_BENCH_BIN names one, and prints the machine, then one table:
#
#   idle scan             1,000 projects under one root (20 x 50, each with a
#                         src/, one holding a node_modules of 3,000 folders),
#                         20 live pool sessions, nothing pending: median of 11
#                         `scan` runs against median of 11
#                         `find ROOT -maxdepth 4 -type d -name inbox`
#   tmux per idle scan    tmux processes one idle scan starts, counted by a
#                         wrapper script set as `[tmux] command`
#   one dispatch          `dispatch` of one task; the agent shows its prompt
#                         0.5 s after it starts (AQ_AGENT_START=0.5), against
#                         the same agent command typed by hand into a pane
#                         (`send-keys`) until its prompt shows (`capture-pane`
#                         back to back); an info row keeps the ratio to the
#                         0.5 s sleep alone
#   eight dispatches      one `scan` of 8 tasks into 8 free sessions, same agent;
#                         an info row times the same eight agents typed by hand
#                         in one tmux call until every prompt shows, against
#                         one by hand (what eight starts cost by themselves);
#                         another the whole delivery of eight by hand (type,
#                         prompt, paste, Enter, taken: one tmux call each, no
#                         checks) against one by hand, the floor of the ratio
#   recycle               the agent's Stop hook starts (it logs the time, then
#                         runs `agent-queue mark-idle`) -> the next task reaches
#                         the same session (the stand-in's message file), with
#                         an agent ready 0.1 s after it starts
#   hook (p50, p99)       `agent-queue hook` run 100 times with a real
#                         UserPromptSubmit payload for a session that holds a
#                         task (it writes the receipt: state lock, write,
#                         fsync, rename); the agent waits for it
#   statusline (p50, p99) `agent-queue statusline` run 100 times with a status
#                         line JSON as Claude Code 2.1.197 sends it, for the
#                         agent of a session that holds a task, each run with
#                         a higher figure (so each one writes the account's
#                         record: lock, write, fsync, rename); every agent runs
#                         it every few seconds
#   peak memory of a scan `/usr/bin/time -f %M` of the idle scan
#   hosts                 a private sshd on a loopback port (keys and config in
#                         the temp folder) and four host names for it, each
#                         with a tmux server of 10 sessions, reached through
#                         `[ssh]` or locally (the same servers, no `host`):
#                         one dispatch to another host against the local one;
#                         `status` and a scan that sends one task to each host,
#                         remote against local; the ssh connections sshd
#                         accepted during such a scan with no shared connection
#                         alive (at most one per host), and during a status
#                         right after it (none). Skipped without sshd.
#
# Rows marked "info" are extra figures (tmux calls of a dispatch and of a
# recycle, the idle scan while a session holds a task) that have no target of
# their own. Exit status: 0 when every target is met, 1 when one is missed,
# 2 when the benchmark itself could not run.
#
# Knobs (environment): AQ_BENCH_BIN (binary to use, no build), AQ_BENCH_RUNS
# (scan runs, 11), AQ_BENCH_ONE (one-dispatch rounds, 5), AQ_BENCH_EIGHT
# (eight-dispatch rounds, 3), AQ_BENCH_RECYCLES (recycles, 4), AQ_BENCH_KEEP=1
# (keep the temp folder, for a look at the logs).

set -uo pipefail
export LC_ALL=C.UTF-8 LC_NUMERIC=C   # tmux must see UTF-8 (the ❯ marker); "." in $EPOCHREALTIME
unset TMUX TMUX_PANE AGENT_QUEUE_CONFIG

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${AQ_BENCH_RUNS:-11}
ONE_ROUNDS=${AQ_BENCH_ONE:-5}
EIGHT_ROUNDS=${AQ_BENCH_EIGHT:-3}
RECYCLES=${AQ_BENCH_RECYCLES:-4}
AGENT_START=0.5
RECYCLE_AGENT_START=0.1

die() { echo "bench: $*" >&2; exit 2; }
say() { echo "bench: $*" >&2; }

command -v tmux >/dev/null || die "tmux is not installed (apt-get install tmux)"
[ -x /bin/sh ] || die "/bin/sh is missing"

# --- the binary --------------------------------------------------------------
if [ -n "${AQ_BENCH_BIN:-}" ]; then
    BIN=$AQ_BENCH_BIN
else
    say "building the release binary (cargo build --release)"
    (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release failed"
    BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/agent-queue"
fi
[ -x "$BIN" ] || die "no agent-queue binary at $BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# --- /usr/bin/time, for the memory figure -------------------------------------
TIME_BIN=/usr/bin/time
if [ ! -x "$TIME_BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "/usr/bin/time is missing: installing the time package"
        apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1
    fi
    [ -x "$TIME_BIN" ] || say "WARNING: /usr/bin/time is missing and could not be installed (apt-get install time): the peak-memory figure is SKIPPED"
fi

# --- the world: temp folder, private tmux server, cleaned up whatever happens --
W=$(mktemp -d "${TMPDIR:-/tmp}/aq-bench.XXXXXX") || die "mktemp failed"
SOCK="aq-bench-$$"
TM=(tmux -L "$SOCK" -f /dev/null)
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    "${TM[@]}" kill-server >/dev/null 2>&1
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"   # tmux 3.3 leaves its socket file behind
    if [ "${AQ_BENCH_KEEP:-}" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$W"/{home,state,resume,bin,log,small} || die "mkdir failed"
export HOME="$W/home" XDG_CONFIG_HOME="$W/home/.config" XDG_STATE_HOME="$W/home/.local/state"
# Counts tmux processes: every call is logged (time, arguments) and run.
cat > "$W/bin/tmux-counted" <<EOF
#!/bin/sh
printf '%s %s\n' "\$(date +%s.%N)" "\$*" >> '$W/tmux-calls.log'
exec tmux "\$@"
EOF
chmod +x "$W/bin/tmux-counted"

sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }                  # shell quote
ts() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }  # TOML string
AGENT_CMD="$(sq "$REPO/contrib/stand-in-agent.sh") --model {model}"

# config NAME PREFIX SIZE PROJECTS-LINE [counted] [STATE-NAME]
config() {
    local name=$1 prefix=$2 size=$3 projects=$4 counted=${5:-} state=${6:-$1}
    local tmux_cmd
    if [ "$counted" = counted ]; then
        tmux_cmd="[$(ts "$W/bin/tmux-counted"), \"-L\", $(ts "$SOCK"), \"-f\", \"/dev/null\"]"
    else
        tmux_cmd="[\"tmux\", \"-L\", $(ts "$SOCK"), \"-f\", \"/dev/null\"]"
    fi
    cat > "$W/$name.toml" <<EOF
[state]
file = $(ts "$W/state/$state.json")

[tmux]
command = $tmux_cmd

[projects]
$projects

[pool]
prefix = $(ts "$prefix")
start = 1
size = $size
cooldown = "1m"

[agent]
command = $(ts "$AGENT_CMD")
ready_timeout = "10s"
resume_dir = $(ts "$W/resume")
EOF
    echo "$W/$name.toml"
}

# session NAME [VAR=VALUE]...: a session at a POSIX shell, its agent's environment set
session() {
    local name=$1; shift
    local env=(-e "HOME=$HOME" -e "PS1=$ " -e "ENV=/dev/null" -e "PATH=$PATH" -e "AQ_AGENT_LOG=$W/log")
    local kv
    for kv in "$@"; do env+=(-e "$kv"); done
    "${TM[@]}" new-session -d -s "$name" -x 160 -y 40 "${env[@]}" /bin/sh ||
        die "tmux new-session $name failed"
    local i
    for i in $(seq 200); do
        [ "$("${TM[@]}" display-message -p -t "=$name:" '#{pane_current_command}' 2>/dev/null)" = sh ] && return 0
        sleep 0.02
    done
    die "session $name never showed its shell"
}
kill_sessions() { local s; for s in "$@"; do "${TM[@]}" kill-session -t "=$s" 2>/dev/null; done; }

project() { mkdir -p "$1/.agent-queue/inbox" "$1/src"; echo "$1"; }
task() {   # task PROJECT NAME AGE-SECONDS
    local f="$1/.agent-queue/inbox/$2"
    printf -- '---\ntitle: %s\n---\nBenchmark task %s: nothing to do.\n' "$2" "$2" > "$f"
    touch -d "@$(( $(date +%s) - $3 ))" "$f"
    echo "$f"
}
msgs() { find "$W/log" -name "$1*.msg" | wc -l; }
wait_msgs() {  # wait_msgs SESSION-PREFIX N SECONDS
    local i
    for i in $(seq $(( $3 * 50 ))); do
        [ "$(msgs "$1")" -ge "$2" ] && return 0
        sleep 0.02
    done
    die "the agents of $1* received $(msgs "$1") message(s), not $2, within $3 s (see AQ_BENCH_KEEP=1)"
}
wait_shell() { # wait_shell SESSION SECONDS: until no agent agent-queue started runs there
    local i
    for i in $(seq $(( $2 * 50 ))); do
        case "$("${TM[@]}" display-message -p -t "=$1:" '#{@agent-queue}' 2>/dev/null)" in
            *" run") ;;
            *) return 0 ;;
        esac
        sleep 0.02
    done
    return 1
}

us() { local t=${1/./}; echo $((10#$t)); }        # $EPOCHREALTIME -> microseconds
median() { sort -n | awk '{v[NR]=$1} END {if (NR==0) exit 1; print (NR%2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
p99() { sort -n | awk '{v[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; print v[i]}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f ms", u/1000}'; }
secs() { awk -v u="$1" 'BEGIN {printf "%.3f s", u/1000000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b + 1e-9)}'; }

ROWS=()
FAILED=0
row() {  # row FIGURE MEASURED BASELINE RATIO TARGET RESULT
    ROWS+=("$1|$2|$3|$4|$5|$6")
    [ "$6" = FAIL ] && FAILED=1
    return 0
}
verdict() { if le "$1" "$2"; then echo pass; else echo FAIL; fi; }

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MACHINE="$(nproc) CPU(s), ${CPU:-unknown CPU}, Linux $(uname -r), $(tmux -V)"
REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
say "machine: $MACHINE; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. idle scan ---------------------------------------------------------------
say "building the tree: 20 x 50 projects, one node_modules of 3,000 folders"
T="$W/tree"
mkdir -p "$T"/g{01..20}/p{01..50}/{src,.agent-queue/inbox} || die "building the tree failed"
mkdir -p "$T"/g01/p01/node_modules/m{0001..3000} || die "building node_modules failed"
IDLE=$(config idle ccl-auto- 20 "roots = [$(ts "$T")]")
IDLE_COUNTED=$(config idle-counted ccl-auto- 20 "roots = [$(ts "$T")]" counted idle)
say "starting 20 pool sessions"
for i in $(seq 20); do session "ccl-auto-$i" "AQ_AGENT_START=$AGENT_START"; done

found=$(find "$T" -maxdepth 4 -type d -name inbox | wc -l)
[ "$found" = 1000 ] || die "find sees $found inboxes, not 1000"
# An inbox changed less than a second ago is read on every scan (a task
# written in the same clock tick must not hide behind agent-queue's memo of
# empty inboxes); this tree was just made, which an operator's is not.
sleep 1.1
"$BIN" --config "$IDLE" -q scan || die "the idle scan failed (exit $?)"

# idle_scans LABEL: median of $RUNS scans and of $RUNS finds, interleaved (warm cache)
idle_scans() {
    local i t0 t1 f=() s=()
    find "$T" -maxdepth 4 -type d -name inbox >/dev/null
    "$BIN" --config "$IDLE" -q scan
    for i in $(seq "$RUNS"); do
        t0=$EPOCHREALTIME; find "$T" -maxdepth 4 -type d -name inbox >/dev/null; t1=$EPOCHREALTIME
        f+=($(( $(us "$t1") - $(us "$t0") )))
        t0=$EPOCHREALTIME; "$BIN" --config "$IDLE" -q scan; rc=$?; t1=$EPOCHREALTIME
        [ "$rc" = 0 ] || die "scan exited $rc"
        s+=($(( $(us "$t1") - $(us "$t0") )))
    done
    FIND_US=$(printf '%s\n' "${f[@]}" | median)
    SCAN_US=$(printf '%s\n' "${s[@]}" | median)
    say "$1: find $(printf '%s ' "${f[@]}")us; scan $(printf '%s ' "${s[@]}")us"
}
count_scan() {  # sets COUNT: tmux processes of one scan
    : > "$W/tmux-calls.log"
    "$BIN" --config "$IDLE_COUNTED" -q scan || die "the counted scan failed"
    COUNT=$(wc -l < "$W/tmux-calls.log")
}

say "idle scan: $RUNS runs of find and of scan, interleaved"
idle_scans "idle scan"
r=$(ratio "$SCAN_US" "$FIND_US")
row "idle scan (1,000 projects)" "$(ms "$SCAN_US")" "find $(ms "$FIND_US")" "${r}x" "<= 0.5x find" "$(verdict "$r" 0.5)"
count_scan; n=$COUNT
row "tmux processes per idle scan" "$n" "-" "-" "<= 1" "$(verdict "$n" 1)"

if [ -x "$TIME_BIN" ]; then
    peak=0
    for i in 1 2 3; do
        "$TIME_BIN" -f %M -o "$W/time.out" "$BIN" --config "$IDLE" -q scan || die "scan under /usr/bin/time failed"
        kb=$(tail -n 1 "$W/time.out")
        [ "$kb" -gt "$peak" ] && peak=$kb
    done
    row "peak memory of a scan" "$(awk -v k="$peak" 'BEGIN {printf "%.1f MiB", k/1024}')" "-" \
        "$(ratio "$peak" 16384)" "<= 16 MiB" "$(verdict "$peak" 16384)"
    PEAK_ROW=${ROWS[-1]}; unset 'ROWS[-1]'
else
    PEAK_ROW="peak memory of a scan|SKIPPED|-|-|<= 16 MiB|SKIP (no /usr/bin/time)"
fi

# The same scan while one pool session holds a task (then it must ask tmux).
HOLD=$(project "$W/small/hold")
HOLD_CONFIG=$(config hold ccl-auto- 20 "paths = [$(ts "$HOLD")]" "" idle)
"$BIN" --config "$HOLD_CONFIG" -q dispatch "$(task "$HOLD" hold.md 10)" || die "dispatch into ccl-auto-1 failed"
wait_msgs ccl-auto-1. 1 5
say "idle scan again, ccl-auto-1 working"
idle_scans "idle scan, one session working"
r=$(ratio "$SCAN_US" "$FIND_US")
row "  idle scan, 1 session working (info)" "$(ms "$SCAN_US")" "find $(ms "$FIND_US")" "${r}x" "<= 2.0x find" "info: $(verdict "$r" 2.0)"
count_scan; n=$COUNT
# One list-panes for recovery, and one screen read per working session (a
# usage limit on its screen).
row "  tmux processes, 1 session working (info)" "$n" "-" "-" "<= 2" "info: $(verdict "$n" 2)"

# The hook's own run time, as the agent waits for it: a receipt for the task
# ccl-auto-1 holds, named by its start's nonce as the started script exports it.
NONCE=$(sed -n 's/.*"nonce": "\([0-9a-f]*\)".*/\1/p' "$W/state/idle.json" | head -n 1)
[ -n "$NONCE" ] || die "no start nonce in the state"
PAYLOAD='{"session_id":"b6960bbd-4532-4ba7-9db8-bd485b898ee3","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","permission_mode":"bypassPermissions","hook_event_name":"UserPromptSubmit","prompt":"[hold.md] the task"}'
h=()
for i in $(seq 100); do
    t0=$EPOCHREALTIME
    printf '%s' "$PAYLOAD" | AGENT_QUEUE_RUN=$NONCE "$BIN" --config "$HOLD_CONFIG" -q hook
    t1=$EPOCHREALTIME
    h+=($(( $(us "$t1") - $(us "$t0") )))
done
grep -q '"agent_session_id": "b6960bbd' "$W/state/idle.json" || die "the hook wrote no receipt"
HOOK_P50=$(printf '%s\n' "${h[@]}" | median)
HOOK_P99=$(printf '%s\n' "${h[@]}" | p99)
say "hook: p50 ${HOOK_P50}us p99 ${HOOK_P99}us"
row "hook, p50 of 100 (receipt written)" "$(ms "$HOOK_P50")" "-" "$(ratio "$HOOK_P50" 100000)" "<= 100 ms" "$(verdict "$HOOK_P50" 100000)"
row "hook, p99 of 100" "$(ms "$HOOK_P99")" "-" "$(ratio "$HOOK_P99" 100000)" "<= 100 ms" "$(verdict "$HOOK_P99" 100000)"

# The status line's run time: it runs every few seconds in every agent, and
# must never be in the way. Each run reports a higher five-hour figure, so
# each one writes the account's record.
RESETS=$(( $(date +%s) + 3600 ))
s=()
for i in $(seq 100); do
    STATUS='{"session_id":"2fbd669c-c420-471c-839c-86989edc80c4","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","model":{"id":"claude-sonnet-5","display_name":"Sonnet 5"},"workspace":{"current_dir":"/tmp","project_dir":"/tmp","added_dirs":[]},"version":"2.1.197","output_style":{"name":"default"},"cost":{"total_cost_usd":0.00012,"total_duration_ms":4431,"total_api_duration_ms":195,"total_lines_added":0,"total_lines_removed":0},"context_window":{"total_input_tokens":10,"total_output_tokens":2,"context_window_size":200000,"used_percentage":0,"remaining_percentage":100},"exceeds_200k_tokens":false,"rate_limits":{"five_hour":{"used_percentage":'"$i"'.000000000000004,"resets_at":'"$RESETS"'},"seven_day":{"used_percentage":41,"resets_at":'"$(( RESETS + 86400 ))"'}}}'
    t0=$EPOCHREALTIME
    printf '%s' "$STATUS" | AGENT_QUEUE_RUN=$NONCE "$BIN" --config "$HOLD_CONFIG" -q statusline >/dev/null
    t1=$EPOCHREALTIME
    s+=($(( $(us "$t1") - $(us "$t0") )))
done
grep -q '"used":1000' "$W/state/idle.json.usage/"*.json || die "the status line recorded no usage"
LINE_P50=$(printf '%s\n' "${s[@]}" | median)
LINE_P99=$(printf '%s\n' "${s[@]}" | p99)
say "statusline: p50 ${LINE_P50}us p99 ${LINE_P99}us"
row "statusline, p50 of 100 (usage written)" "$(ms "$LINE_P50")" "-" "$(ratio "$LINE_P50" 10000)" "<= 10 ms" "$(verdict "$LINE_P50" 10000)"
row "statusline, p99 of 100" "$(ms "$LINE_P99")" "-" "$(ratio "$LINE_P99" 100000)" "<= 100 ms" "$(verdict "$LINE_P99" 100000)"
for i in $(seq 20); do kill_sessions "ccl-auto-$i"; done

# --- 2. one dispatch ------------------------------------------------------------
say "one dispatch: $ONE_ROUNDS rounds, agent ready ${AGENT_START}s after it starts"
ONE=$(project "$W/small/one")
d=()
for r in $(seq "$ONE_ROUNDS"); do
    session "one$r-1" "AQ_AGENT_START=$AGENT_START"
    c=$(config "one$r" "one$r-" 1 "paths = [$(ts "$ONE")]")
    t=$(task "$ONE" "one-$r.md" 10)
    t0=$EPOCHREALTIME; "$BIN" --config "$c" -q dispatch "$t"; rc=$?; t1=$EPOCHREALTIME
    [ "$rc" = 0 ] || die "dispatch exited $rc"
    d+=($(( $(us "$t1") - $(us "$t0") )))
    wait_msgs "one$r-1." 1 5
    kill_sessions "one$r-1"
done
ONE_US=$(printf '%s\n' "${d[@]}" | median)
say "one dispatch: $(printf '%s ' "${d[@]}")us"

# type_agents SESSION...: types the agent command into every session at its
# shell, in one tmux call (`send-keys`, as agent-queue types it).
type_agents() {
    local line args=() name
    line="cd $(sq "$ONE") && ${AGENT_CMD//\{model\}/bench}"
    for name in "$@"; do
        [ "${#args[@]}" -gt 0 ] && args+=(";")
        args+=(send-keys -t "=$name:" -l -- "$line" ";" send-keys -t "=$name:" Enter)
    done
    "${TM[@]}" "${args[@]}" || die "send-keys failed"
}

# by_hand SESSION...: types the agent into every session (type_agents), and
# reads the screens back to back (no sleep) until every one shows the prompt;
# prints the microseconds that took.
by_hand() {
    local waiting=("$@") left name t0 t1 i
    t0=$EPOCHREALTIME
    type_agents "$@"
    for i in $(seq 20000); do
        left=()
        for name in "${waiting[@]}"; do
            case "$("${TM[@]}" capture-pane -p -t "=$name:")" in *❯*) ;; *) left+=("$name") ;; esac
        done
        [ "${#left[@]}" -eq 0 ] && break
        waiting=("${left[@]}")
    done
    t1=$EPOCHREALTIME
    [ "${#left[@]}" -eq 0 ] || die "typed by hand: ${left[*]} never showed the prompt"
    echo $(( $(us "$t1") - $(us "$t0") ))
}

# The agent's own start, as a person sees it: the same agent command typed
# by hand into a session at its shell, until its prompt shows. This
# counts what the agent itself costs to start (its shell script, its own
# tmux call) besides its 0.5 s sleep; agent-queue's every step is not in it.
h=()
for r in $(seq "$ONE_ROUNDS"); do
    session "hand$r-1" "AQ_AGENT_START=$AGENT_START"
    t=$(by_hand "hand$r-1") || exit 2
    h+=("$t")
    kill_sessions "hand$r-1"
done
HAND_US=$(printf '%s\n' "${h[@]}" | median)
say "agent start typed by hand: $(printf '%s ' "${h[@]}")us"
r=$(ratio "$ONE_US" "$HAND_US")
row "one dispatch" "$(secs "$ONE_US")" "by hand $(secs "$HAND_US")" "${r}x" "<= 1.1x" "$(verdict "$r" 1.1)"
r=$(awk -v u="$ONE_US" -v s="$AGENT_START" 'BEGIN {printf "%.2f", u/1e6/s}')
row "  one dispatch vs the 0.5 s sleep (info)" "$(secs "$ONE_US")" "sleep ${AGENT_START} s" "${r}x" "-" "info"

# The tmux calls of one dispatch (a separate, counted round: the wrapper's
# own cost stays out of the timed ones).
session one0-1 "AQ_AGENT_START=$AGENT_START"
c=$(config one0 one0- 1 "paths = [$(ts "$ONE")]" counted)
: > "$W/tmux-calls.log"
"$BIN" --config "$c" -q dispatch "$(task "$ONE" one-0.md 10)" || die "the counted dispatch failed"
n=$(wc -l < "$W/tmux-calls.log")
cp "$W/tmux-calls.log" "$W/tmux-calls.dispatch.log"
wait_msgs one0-1. 1 5
kill_sessions one0-1
row "  tmux processes per dispatch (info)" "$n" "-" "-" "-" "info"

# --- 3. eight dispatches ----------------------------------------------------------
say "eight dispatches: $EIGHT_ROUNDS rounds of one scan, 8 tasks, 8 free sessions"
e=()
for r in $(seq "$EIGHT_ROUNDS"); do
    p=$(project "$W/small/eight$r")
    for i in $(seq 8); do task "$p" "t$i.md" $((20 - i)) >/dev/null; done
    names=()
    for i in $(seq 8); do session "e$r-$i" "AQ_AGENT_START=$AGENT_START"; names+=("e$r-$i"); done
    c=$(config "eight$r" "e$r-" 8 "paths = [$(ts "$p")]")
    t0=$EPOCHREALTIME; "$BIN" --config "$c" -q scan; rc=$?; t1=$EPOCHREALTIME
    [ "$rc" = 0 ] || die "scan of eight exited $rc"
    e+=($(( $(us "$t1") - $(us "$t0") )))
    wait_msgs "e$r-" 8 5
    kill_sessions "${names[@]}"
done
EIGHT_US=$(printf '%s\n' "${e[@]}" | median)
say "eight dispatches: $(printf '%s ' "${e[@]}")us"
r=$(ratio "$EIGHT_US" "$ONE_US")
row "eight dispatches (one scan)" "$(secs "$EIGHT_US")" "one $(secs "$ONE_US")" "${r}x" "<= 1.1x one" "$(verdict "$r" 1.1)"

# The same eight agents started by hand, all in one tmux call, until every
# prompt shows (each pane read back to back): what eight agents starting at
# once on this machine cost by themselves, against one started by hand.
#
# on_eight PREFIX FUNCTION: runs FUNCTION on eight new sessions at a shell,
# PREFIX1 to PREFIX8, then kills them; prints what FUNCTION printed.
on_eight() {
    local names=() i t
    for i in $(seq 8); do session "$1$i" "AQ_AGENT_START=$AGENT_START"; names+=("$1$i"); done
    t=$("$2" "${names[@]}") || exit 2
    kill_sessions "${names[@]}"
    echo "$t"
}
hh=()
for r in $(seq "$EIGHT_ROUNDS"); do
    t=$(on_eight "eh$r-" by_hand) || exit 2
    hh+=("$t")
done
HAND8_US=$(printf '%s\n' "${hh[@]}" | median)
say "eight agents started by hand: $(printf '%s ' "${hh[@]}")us"
r=$(ratio "$HAND8_US" "$HAND_US")
row "  eight agents by hand (info)" "$(secs "$HAND8_US")" "one $(secs "$HAND_US")" "${r}x" "-" "info"

# The floor of the ratio above: the whole delivery by hand, with nothing
# checked and nothing written down. One tmux call types every agent command,
# one call reads all the screens (back to back) until every prompt shows, one
# call pastes the task and presses Enter in every pane, and one call reads
# them until every agent says it is working on it. No tool that waits for
# the prompt and for the task to be taken does less; agent-queue adds its
# claims, its state, its wrapper and its checks between the paste and the
# Enter. Eight of these against one says how far under the eight agents'
# own contention (2 cores: their starts, their reads of a paste, the tmux
# server) a ratio can go on this machine.
#
# read_all TEXT SESSION...: reads every session's screen in one tmux call,
# again and again, until each one shows TEXT.
read_all() {
    local text=$1 args=() name n i
    shift
    for name in "$@"; do
        [ "${#args[@]}" -gt 0 ] && args+=(";")
        args+=(capture-pane -p -t "=$name:" ";" display-message -p "@@end-of-pane@@")
    done
    for i in $(seq 20000); do
        n=$("${TM[@]}" "${args[@]}" |
            awk -v t="$text" 'index($0, t) {f = 1} $0 == "@@end-of-pane@@" {if (f) c++; f = 0} END {print c + 0}')
        [ "$n" -ge "$#" ] && return 0
    done
    die "delivered by hand: not every pane of $* showed \"$text\""
}
delivered_by_hand() {
    local args=() name t0 t1
    t0=$EPOCHREALTIME
    type_agents "$@"
    read_all "❯" "$@" || exit 2
    args=(set-buffer -b aq-bench-floor "Benchmark task by hand: nothing to do.")
    for name in "$@"; do
        args+=(";" paste-buffer -p -b aq-bench-floor -t "=$name:" ";" send-keys -t "=$name:" Enter)
    done
    "${TM[@]}" "${args[@]}" || die "paste-buffer failed"
    read_all "working on" "$@" || exit 2
    t1=$EPOCHREALTIME
    echo $(( $(us "$t1") - $(us "$t0") ))
}
f1=() f8=()
for r in $(seq "$EIGHT_ROUNDS"); do
    session "fh$r-1" "AQ_AGENT_START=$AGENT_START"
    t=$(delivered_by_hand "fh$r-1") || exit 2
    f1+=("$t")
    kill_sessions "fh$r-1"
    t=$(on_eight "fe$r-" delivered_by_hand) || exit 2
    f8+=("$t")
done
FLOOR1_US=$(printf '%s\n' "${f1[@]}" | median)
FLOOR8_US=$(printf '%s\n' "${f8[@]}" | median)
say "delivered by hand: one $(printf '%s ' "${f1[@]}")us, eight $(printf '%s ' "${f8[@]}")us"
r=$(ratio "$FLOOR8_US" "$FLOOR1_US")
row "  eight delivered by hand (info)" "$(secs "$FLOOR8_US")" "one $(secs "$FLOOR1_US")" "${r}x" "-" "info"

# --- 4. recycle ---------------------------------------------------------------------
# recycle NAME COUNTED N: a session whose Stop hook logs the time and runs
# mark-idle; N+1 tasks; one scan starts the chain. Sets REC_US (median, µs).
recycle_run() {
    local name=$1 counted=$2 n=$3 p c hook i
    p=$(project "$W/small/$name")
    for i in $(seq 0 "$n"); do task "$p" "r$i.md" $((100 - i)) >/dev/null; done
    c=$(config "$name" "$name-" 1 "paths = [$(ts "$p")]" "$counted")
    hook="date +%s.%N >> $(sq "$W/$name.hook"); $(sq "$BIN") --config $(sq "$c") -q mark-idle"
    session "$name-1" "AQ_AGENT_START=$RECYCLE_AGENT_START" "AQ_STOP_HOOK=$hook"
    : > "$W/tmux-calls.log"
    "$BIN" --config "$c" -q scan || die "the scan that starts the recycle chain failed"
    wait_msgs "$name-1." $((n + 1)) $((5 * (n + 1)))
    # The last hook recycles into an empty inbox: let it finish.
    sleep 0.3
    wait_shell "$name-1" 10 || say "note: $name-1 did not come back to its shell"
    local times=() at=() rec=()
    mapfile -t times < "$W/$name.hook"
    mapfile -t at < <(find "$W/log" -name "$name-1.*.msg" -exec stat -c %.9Y {} + | sort -n)
    for i in $(seq 0 $((n - 1))); do
        rec+=("$(awk -v a="${at[$((i + 1))]}" -v h="${times[$i]}" 'BEGIN {printf "%d", (a - h) * 1e6}')")
    done
    REC_US=$(printf '%s\n' "${rec[@]}" | median)
    REC_ALL="${rec[*]}"
    REC_HOOKS="${times[*]}"
    kill_sessions "$name-1"
}
say "recycle: $RECYCLES recycles, agent ready ${RECYCLE_AGENT_START}s after it starts"
recycle_run rec "" "$RECYCLES"
say "recycle: $REC_ALL us"
row "recycle (Stop hook -> next task)" "$(secs "$REC_US")" "-" "$(ratio "$REC_US" 600000)" "<= 0.6 s" "$(verdict "$REC_US" 600000)"
recycle_run reccount counted 1
# One whole cycle: from the first hook's start to the second's.
read -r h0 h1 _ <<< "$REC_HOOKS"
n=$(awk -v a="$h0" -v b="$h1" '$1 >= a && $1 < b' "$W/tmux-calls.log" | wc -l)
cp "$W/tmux-calls.log" "$W/tmux-calls.recycle.log"
row "  tmux processes per recycle (info)" "$n" "-" "-" "-" "info"

# --- 5. hosts ------------------------------------------------------------------------
# Pools on "other hosts": a private sshd on a loopback port (its own host
# key, config and authorized key in the temp folder; never the system's),
# four host names for it in an ssh_config of our own, each with a tmux
# server of its own. The same tmux servers are also reached locally (a pool
# without `host`), so the two differ only by ssh. The shared connections'
# masters end with the sshd (killed on exit).
SSHD=/usr/sbin/sshd
if [ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; then
    say "hosts: a private sshd, 4 hosts x 10 sessions"
    S="$W/ssh"
    mkdir -p "$S" || die "mkdir $S failed"
    ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" || die "ssh-keygen failed"
    ssh-keygen -q -t ed25519 -N '' -f "$S/client_key" || die "ssh-keygen failed"
    cp "$S/client_key.pub" "$S/authorized_keys"
    if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi   # sshd's privilege separation folder, as its unit makes it
    PORT=$(( 20000 + RANDOM % 20000 ))
    # SHLVL=1: bash started by sshd then skips the user's ~/.bashrc, which
    # may do anything on a shared machine (the figures are agent-queue's).
    printf '%s\n' "ListenAddress 127.0.0.1" "HostKey $S/host_key" "PidFile none" \
        "AuthorizedKeysFile $S/authorized_keys" "PasswordAuthentication no" \
        "KbdInteractiveAuthentication no" "UsePAM no" "StrictModes no" "PermitUserRC no" \
        "MaxStartups 100" "MaxSessions 100" "LogLevel VERBOSE" "SetEnv SHLVL=1" > "$S/sshd_config"
    "$SSHD" -D -e -f "$S/sshd_config" -p "$PORT" 2> "$S/sshd.log" &
    SSHD_PID=$!
    # shellcheck disable=SC2317  # run by the EXIT trap
    cleanup_hosts() {
        # The shared connections' masters first: an sshd's connections
        # outlive its listener, and a master would wait 10 minutes.
        local sock h
        # (`*.tmux` are the tmux servers' forwarded sockets, not masters.)
        for sock in "$W"/state/*/ssh/*; do
            case $sock in *.tmux) continue ;; esac
            [ -S "$sock" ] && ssh -F "$S/ssh_config" -o ControlPath="$sock" -O exit h1 >/dev/null 2>&1
        done
        kill "$SSHD_PID" 2>/dev/null
        for h in 1 2 3 4; do
            tmux -L "$SOCK-h$h" -f /dev/null kill-server >/dev/null 2>&1
            rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK-h$h"
        done
        cleanup
    }
    trap cleanup_hosts EXIT
    printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cat "$S/host_key.pub")" > "$S/known_hosts"
    : > "$S/ssh_config"
    for h in 1 2 3 4; do
        printf '%s\n' "Host h$h" "  HostName 127.0.0.1" "  Port $PORT" "  User $(id -un)" \
            "  IdentityFile $S/client_key" "  IdentitiesOnly yes" "  UserKnownHostsFile $S/known_hosts" \
            "  GlobalKnownHostsFile /dev/null" "  StrictHostKeyChecking yes" "  LogLevel ERROR" >> "$S/ssh_config"
    done
    up=no
    for i in $(seq 250); do
        if ssh -F "$S/ssh_config" -o BatchMode=yes h1 true 2>/dev/null; then up=yes; break; fi
        sleep 0.02
    done
    [ "$up" = yes ] || die "the private sshd did not answer (see $S/sshd.log, AQ_BENCH_KEEP=1)"
    accepted() { grep -c "Accepted publickey" "$S/sshd.log"; }

    # hosts_config NAME local|remote PROJECT [SIZE]: pools h1..h4, one per
    # server; its state (and the shared connections' sockets) in a folder
    # of its own.
    hosts_config() {  # ... [SIZE [STATE-FOLDER]]: folders share their connections
        local name=$1 how=$2 proj=$3 size=${4:-10} dir=${5:-$1} h out="$W/$1.toml"
        mkdir -p "$W/state/$dir"
        printf '%s\n' "[state]" "file = $(ts "$W/state/$dir/$name.json")" \
            "[ssh]" "command = [\"ssh\", \"-F\", $(ts "$S/ssh_config")]" \
            "[projects]" "paths = [$(ts "$proj")]" "settle = \"0s\"" \
            "[agent]" "command = $(ts "$AGENT_CMD")" "ready_timeout = \"10s\"" \
            "resume_dir = $(ts "$W/resume")" > "$out"
        for h in 1 2 3 4; do
            printf '%s\n' "[pools.h$h]" "prefix = \"h$h-\"" "start = 1" "size = $size" \
                "cooldown = \"1m\"" "tmux = [\"tmux\", \"-L\", $(ts "$SOCK-h$h"), \"-f\", \"/dev/null\"]" >> "$out"
            if [ "$how" = remote ]; then echo "host = \"h$h\"" >> "$out"; fi
        done
        echo "$out"
    }
    hsession() {  # hsession HOST NAME: a session on that host's tmux server
        tmux -L "$SOCK-h$1" -f /dev/null new-session -d -s "$2" -x 160 -y 40 \
            -e "HOME=$HOME" -e "PS1=$ " -e "ENV=/dev/null" -e "PATH=$PATH" -e "AQ_AGENT_LOG=$W/log" \
            -e "AQ_AGENT_START=$AGENT_START" /bin/sh || die "tmux new-session $2 failed"
    }
    hkill() {  # hkill HOST: its tmux server ends, and is gone
        local i out
        tmux -L "$SOCK-h$1" -f /dev/null kill-server >/dev/null 2>&1
        for i in $(seq 250); do
            out=$(tmux -L "$SOCK-h$1" -f /dev/null list-sessions 2>&1)
            case $out in *"no server"* | *"rror connecting"*) return 0 ;; esac
            sleep 0.02
        done
        die "the tmux server of h$1 did not end"
    }
    hosts_up() {  # 4 x 10 sessions at their shells, on fresh servers
        local h i
        for h in 1 2 3 4; do
            hkill "$h"
            for i in $(seq 10); do hsession "$h" "h$h-$i"; done
        done
        for h in 1 2 3 4; do
            for i in $(seq 200); do
                [ "$(tmux -L "$SOCK-h$h" -f /dev/null display-message -p -t "=h$h-10:" '#{pane_current_command}' 2>/dev/null)" = sh ] && break
                sleep 0.02
            done
        done
    }

    # One dispatch into a session on host h1, against the local one above;
    # the shared connection is up (a scan every minute keeps it).
    HP=$(project "$W/small/hostone")
    c=$(hosts_config hone remote "$HP" 1)
    d=()
    for r in $(seq "$ONE_ROUNDS"); do
        hkill 1
        hsession 1 h1-1
        rm -f "$W/state/hone/hone.json"
        "$BIN" --config "$c" -q status >/dev/null || die "remote status failed"
        t=$(task "$HP" "hone-$r.md" 10)
        t0=$EPOCHREALTIME; "$BIN" --config "$c" -q dispatch "$t"; rc=$?; t1=$EPOCHREALTIME
        [ "$rc" = 0 ] || die "remote dispatch exited $rc"
        d+=($(( $(us "$t1") - $(us "$t0") )))
        wait_msgs "h1-1." "$r" 5
    done
    HONE_US=$(printf '%s\n' "${d[@]}" | median)
    say "remote dispatch: $(printf '%s ' "${d[@]}")us"
    r=$(ratio "$HONE_US" "$ONE_US")
    row "one dispatch to another host" "$(secs "$HONE_US")" "local $(secs "$ONE_US")" "${r}x" "<= 1.3x local" "$(verdict "$r" 1.3)"

    # versus FIGURE FORMAT: the row of the medians of the runs in m (remote)
    # against those in l (local), within 1.5x.
    versus() {
        local lo re r
        lo=$(printf '%s\n' "${l[@]}" | median)
        re=$(printf '%s\n' "${m[@]}" | median)
        say "$1: local $(printf '%s ' "${l[@]}")us; remote $(printf '%s ' "${m[@]}")us"
        r=$(ratio "$re" "$lo")
        row "$1" "$("$2" "$re")" "local $("$2" "$lo")" "${r}x" "<= 1.5x local" "$(verdict "$r" 1.5)"
    }

    # status with 4 hosts x 10 sessions, remote against local.
    hosts_up
    HS=$(project "$W/small/hoststatus")
    LOCAL_STATUS=$(hosts_config hstatus-local local "$HS")
    REMOTE_STATUS=$(hosts_config hstatus-remote remote "$HS")
    "$BIN" --config "$REMOTE_STATUS" -q status >/dev/null || die "remote status failed"
    l=(); m=()
    for i in $(seq "$RUNS"); do
        t0=$EPOCHREALTIME; "$BIN" --config "$LOCAL_STATUS" -q status >/dev/null; t1=$EPOCHREALTIME
        l+=($(( $(us "$t1") - $(us "$t0") )))
        t0=$EPOCHREALTIME; "$BIN" --config "$REMOTE_STATUS" -q status >/dev/null; t1=$EPOCHREALTIME
        m+=($(( $(us "$t1") - $(us "$t0") )))
    done
    versus "status, 4 hosts x 10 sessions" ms

    # A scan that sends one task to each host, remote against local. The
    # remote scans share one state folder, so their connections too: the
    # first (round 0, not timed) opens them, and sshd's count of accepted
    # connections says how many (at most one per host); the later ones,
    # timed, find them alive (a scan every minute keeps them) and open none.
    scan_hosts() {  # scan_hosts local|remote ROUND: sets HSCAN_US, HCONFIG
        local p h
        hosts_up
        p=$(project "$W/small/hscan-$1-$2")
        for h in 1 2 3 4; do printf -- '---\npool: h%s\n---\nBenchmark task.\n' "$h" > "$p/.agent-queue/inbox/t$h.md"; done
        touch -d "@$(( $(date +%s) - 10 ))" "$p"/.agent-queue/inbox/*.md
        HCONFIG=$(hosts_config "hscan-$1-$2" "$1" "$p" 10 "hscan-$1")
        t0=$EPOCHREALTIME; "$BIN" --config "$HCONFIG" -q scan; rc=$?; t1=$EPOCHREALTIME
        [ "$rc" = 0 ] || die "scan of 4 hosts ($1) exited $rc"
        HSCAN_US=$(( $(us "$t1") - $(us "$t0") ))
        HSCANS=$(( HSCANS + 1 ))   # each scan gives each host one task
        for h in 1 2 3 4; do wait_msgs "h$h-" "$HSCANS" 5; done
    }
    HSCANS=0
    rm -f "$W"/log/h[1-4]-*.msg
    before=$(accepted)
    scan_hosts remote 0
    first=$(( $(accepted) - before ))
    l=(); m=(); later=0
    for r in $(seq "$EIGHT_ROUNDS"); do
        scan_hosts local "$r"; l+=("$HSCAN_US")
        before=$(accepted)
        scan_hosts remote "$r"; m+=("$HSCAN_US")
        later=$(( later + $(accepted) - before ))
    done
    versus "scan, one task to each of 4 hosts" secs
    row "new ssh connections, first scan (4 hosts)" "$first" "-" "-" "<= 4 (1 per host)" "$(verdict "$first" 4)"
    row "  new ssh connections, later scans" "$later" "-" "-" "0" "$(verdict "$later" 0)"
else
    say "WARNING: no sshd, ssh or ssh-keygen (apt-get install openssh-server openssh-client): the host rows are SKIPPED"
    row "one dispatch to another host" "SKIPPED" "-" "-" "<= 1.3x local" "SKIP (no sshd)"
fi

ROWS+=("$PEAK_ROW")
case $PEAK_ROW in *"|FAIL") FAILED=1 ;; esac

# --- the table ------------------------------------------------------------------------
echo
echo "agent-queue benchmark ($REV, $BIN)"
echo "machine: $MACHINE"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
{
    echo "figure|measured|baseline|ratio|target|result"
    echo "-|-|-|-|-|-"
    printf '%s\n' "${ROWS[@]}"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
    END {
        for (r = 1; r <= n; r++) {
            line = "|"
            for (i = 1; i <= 6; i++) {
                v = c[r, i]
                if (r == 2) { v = ""; for (k = 0; k < w[i]; k++) v = v "-" }
                line = line " " sprintf("%-" w[i] "s", v) " |"
            }
            print line
        }
    }'
echo
echo "ratio: against the baseline, or measured / target for the absolute targets"
if [ "$FAILED" = 0 ]; then echo "every target met"; else echo "some target(s) missed"; fi
exit "$FAILED"
