#!/bin/sh
# A stand-in for an AI coding agent's screen under tmux: the agent of
# `agent-queue demo` (which carries this script), and the one agent-queue's
# tests and benchmark drive. It needs nothing but a POSIX shell (and tmux,
# whose pane it runs in). Like Claude Code it prints a prompt marker when ready, turns on
# bracketed paste, takes one pasted message per Enter, runs a Stop hook when
# its turn ends and exits on /exit.
#
# Environment:
#   AQ_AGENT_LOG     folder: each message received is written to its own file
#                    (session, model, resume id, cwd, then the text)
#   AQ_AGENT_START   seconds to wait before the prompt (default 0)
#   AQ_AGENT_WORK    seconds a task "takes" before the Stop hook (default 0)
#   AQ_STOP_HOOK     command run (by sh) when a turn ends, e.g. "agent-queue mark-idle"
#   AQ_HOOK          command run (by sh) like Claude Code's hooks, with their
#                    JSON on stdin: UserPromptSubmit when a message is taken,
#                    Stop when its turn ends (e.g. "agent-queue hook")
#   AQ_AGENT_DROP_ENTER  file: while it exists, the first Enter is dropped
#                    (the text stays in the input, as when Claude Code drops
#                    an Enter that comes too soon) and the file is removed
#   AQ_AGENT_DIALOG  "trust": first show a folder-trust dialog (Enter accepts);
#                    "menu": first show it as Claude Code 2.1.332 does (no
#                    numbers, the cursor on "No, exit" first, Up/Down move it
#                    round, Enter picks; "No, exit" exits)
#   AQ_AGENT_MENU_STUCK  1: the "menu" cursor does not move
#   AQ_AGENT_EXIT    text: print it and exit before the prompt
#   AQ_AGENT_MARKER  the prompt marker (default ❯)
#   AQ_AGENT_START_ONCE  file: the first agent to start creates it and waits
#                    30 s before its prompt; later ones start at once
#   AQ_AGENT_NOECHO  1: turn off the terminal's echo, so a paste does not show
#   AQ_AGENT_BARRIER N: show the prompt only once N agents have started (in
#                    AQ_AGENT_LOG), which only concurrent launches achieve
#   AQ_AGENT_QUIT_AT_PROMPT  1: draw the prompt, then exit without reading
#   AQ_STATUSLINE    command run (by sh) like Claude Code's statusLine, with
#                    its JSON on stdin, at start and when a turn ends (before
#                    its Stop hook); its output is shown as `[status] <line>`
#   AQ_STATUSLINE_AFTER  seconds: the status line of a turn runs that long
#                    after its Stop hook instead of before it (as Claude Code
#                    refreshes it ~0.3 s after an answer), and only if the
#                    agent has not exited by then
#   AQ_RATE_LIMITS   file: its content, when it exists, is the JSON's
#                    `rate_limits` (the account's usage, as a subscription's
#                    Claude Code has it from the API's answers) once a turn
#                    was answered
#   AQ_AGENT_LIMIT_UNTIL  epoch seconds: until then, a message is answered as
#                    a limited account's Claude Code does: its limit line and
#                    its menu (which waits for an answer), and the StopFailure
#                    hook with error rate_limit; after AQ_AGENT_WORK seconds
#                    of work when that is set (a limit mid-task), at once if
#                    not (a limit the launch sees)
#   AQ_AGENT_DRAFT   text: shown in the input at the first prompt, as a
#                    person's half-typed line is, and sent along with
#                    whatever is typed after it

model='' resume=''
while [ $# -gt 0 ]; do
    case $1 in
        --model) model=$2; shift 2 ;;
        --resume) resume=$2; shift 2 ;;
        *) shift ;;
    esac
done
log=${AQ_AGENT_LOG:-}
marker=${AQ_AGENT_MARKER:-❯}
esc=$(printf '\033')
tab=$(printf '\t')
# Claude Code's session id and transcript, as its hooks report them.
agent_session=$(printf '00000000-0000-4000-8000-%012d' "$$")
transcript="${HOME:-/tmp}/.claude/projects/stand-in/$agent_session.jsonl"

json() {
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$tab/\\\\t/g" |
        awk 'BEGIN { ORS = "" } { if (NR > 1) print "\\n"; print }'
}

# hook EVENT EXTRA-JSON: runs AQ_HOOK with the hook's JSON on stdin.
hook() {
    [ -n "${AQ_HOOK:-}" ] || return 0
    printf '{"session_id":"%s","transcript_path":"%s","cwd":"%s","permission_mode":"bypassPermissions","hook_event_name":"%s"%s}' \
        "$agent_session" "$transcript" "$(pwd | json)" "$1" "$2" | sh -c "$AQ_HOOK"
}
# statusline: runs AQ_STATUSLINE with the status line's JSON on stdin.
statusline() {
    [ -n "${AQ_STATUSLINE:-}" ] || return 0
    limits=''
    # As Claude Code: no usage before the first answer.
    if [ "$n" -gt 0 ] && [ -n "${AQ_RATE_LIMITS:-}" ] && [ -s "$AQ_RATE_LIMITS" ]; then
        limits=",\"rate_limits\":$(cat "$AQ_RATE_LIMITS")"
    fi
    status=$(printf '{"session_id":"%s","transcript_path":"%s","cwd":"%s","model":{"id":"stand-in","display_name":"Stand-in"}%s}' \
        "$agent_session" "$transcript" "$(pwd | json)" "$limits" | sh -c "$AQ_STATUSLINE")
    echo "[status] $status"
}
# How many agents have started (AQ_AGENT_BARRIER's files in AQ_AGENT_LOG).
started_agents() {
    count=0
    for f in "$log"/started.*; do
        [ -e "$f" ] && count=$((count + 1))
    done
    echo "$count"
}
session=$(tmux display-message -p -t "${TMUX_PANE:-}" '#{session_name}' 2>/dev/null || echo unknown)

echo "stand-in agent (model ${model:-none}) in $(pwd)"
if [ -n "${AQ_AGENT_EXIT:-}" ]; then
    echo "$AQ_AGENT_EXIT"
    exit 1
fi
if [ -n "${AQ_AGENT_BARRIER:-}" ]; then
    : > "$log/started.$session"
    tries=0
    while [ "$(started_agents)" -lt "$AQ_AGENT_BARRIER" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 200 ]; then
            echo "$session" >> "$log/barrier-timeouts"
            break
        fi
        sleep 0.05
    done
fi
if [ "${AQ_AGENT_NOECHO:-}" = 1 ]; then
    stty -echo
fi
if [ -n "${AQ_AGENT_START_ONCE:-}" ] && [ ! -e "$AQ_AGENT_START_ONCE" ]; then
    : > "$AQ_AGENT_START_ONCE"
    sleep 30
fi
if [ "${AQ_AGENT_START:-0}" != 0 ]; then
    sleep "$AQ_AGENT_START"
fi
if [ "${AQ_AGENT_DIALOG:-}" = trust ]; then
    echo " Do you trust the files in this folder?"
    echo " $marker 1. Yes, I trust this folder"
    echo "   2. No, exit"
    IFS= read -r answer || exit 0
    [ -z "$answer" ] || exit 1
    clear
fi
if [ "${AQ_AGENT_DIALOG:-}" = menu ]; then
    saved=$(stty -g)
    stty -icanon -echo min 1 time 0
    cur=0
    while :; do
        clear
        echo " Quick safety check: Is this a project you created or one you trust?"
        echo
        if [ "$cur" = 0 ]; then
            echo " $marker No, exit"
            echo "   Yes, I trust this folder"
        else
            echo "   No, exit"
            echo " $marker Yes, I trust this folder"
        fi
        echo
        echo " Enter to confirm · Esc to cancel"
        c=$(dd bs=1 count=1 2>/dev/null)
        case $c in
            '') break ;;
            "$esc")
                k=$(dd bs=1 count=2 2>/dev/null)
                case $k in
                    '[A' | '[B') [ "${AQ_AGENT_MENU_STUCK:-}" = 1 ] || cur=$((1 - cur)) ;;
                esac ;;
        esac
    done
    stty "$saved"
    [ "$cur" = 1 ] || exit 1
    clear
fi

n=0
draft=${AQ_AGENT_DRAFT:-}
statusline
while :; do
    # Bracketed paste on, then the prompt line.
    printf '%s[?2004h%s %s' "$esc" "$marker" "$draft"
    if [ "${AQ_AGENT_QUIT_AT_PROMPT:-}" = 1 ]; then
        exit 0
    fi
    IFS= read -r line || exit 0
    line=$draft$line
    draft=''
    case $line in
        /exit)
            printf '%s[?2004l' "$esc"
            echo "Resume this session with:"
            echo "agent --resume 00000000-0000-4000-8000-000000000000"
            exit 0 ;;
    esac
    msg=$line
    case $line in
        *"${esc}[200~"*)
            while :; do
                case $line in *"${esc}[201~"*) break ;; esac
                IFS= read -r line || break
                msg="$msg
$line"
            done ;;
    esac
    printf '%s[?2004l' "$esc"
    msg=$(printf '%s\n' "$msg" | sed "s/$esc\[20[01]~//g")
    if [ -n "${AQ_AGENT_DROP_ENTER:-}" ] && [ -e "$AQ_AGENT_DROP_ENTER" ]; then
        # The Enter is lost: the text waits until the next one.
        rm -f "$AQ_AGENT_DROP_ENTER"
        IFS= read -r more || exit 0
        msg="$msg$more"
    fi
    hook UserPromptSubmit ",\"prompt\":\"$(printf '%s' "$msg" | json)\""
    n=$((n + 1))
    if [ -n "${AQ_AGENT_LIMIT_UNTIL:-}" ] && [ "$(date +%s)" -lt "$AQ_AGENT_LIMIT_UNTIL" ]; then
        [ -z "$log" ] || : > "$log/$session.$$.$n.limited"
        # Mid-task when AQ_AGENT_WORK is set: the turn starts, then fails.
        if [ "${AQ_AGENT_WORK:-0}" != 0 ]; then
            echo "working on: $(printf '%s\n' "$msg" | head -n 1)"
            sleep "$AQ_AGENT_WORK"
        fi
        line="Claude AI usage limit reached|$AQ_AGENT_LIMIT_UNTIL"
        echo "  ⎿  $line"
        echo " What do you want to do?"
        echo " ❯ 1. Stop and wait for limit to reset"
        echo "   2. Upgrade your plan"
        hook StopFailure ",\"error\":\"rate_limit\",\"last_assistant_message\":\"$line\""
        while IFS= read -r _; do :; done
        exit 0
    fi
    if [ -n "$log" ]; then
        file="$log/$session.$$.$n.msg"
        {
            echo "session=$session"
            echo "model=$model"
            echo "resume=$resume"
            echo "cwd=$(pwd)"
            echo "---"
            printf '%s\n' "$msg"
        } > "$file.tmp" && mv "$file.tmp" "$file"
    fi
    echo "working on: $(printf '%s\n' "$msg" | head -n 1)"
    if [ "${AQ_AGENT_WORK:-0}" != 0 ]; then
        sleep "$AQ_AGENT_WORK"
    fi
    echo "done."
    if [ -z "${AQ_STATUSLINE_AFTER:-}" ]; then
        statusline
    else
        agent=$$
        (sleep "$AQ_STATUSLINE_AFTER"; ! kill -0 "$agent" 2>/dev/null || statusline) &
    fi
    hook Stop ",\"stop_hook_active\":false,\"last_assistant_message\":\"Done: $(printf '%s\n' "$msg" | head -n 1 | json)\""
    if [ -n "${AQ_STOP_HOOK:-}" ]; then
        sh -c "$AQ_STOP_HOOK" </dev/null
    fi
done
