# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_agent_queue_global_optspecs
    string join \n config= json q/quiet v/verbose h/help V/version
end

function __fish_agent_queue_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_agent_queue_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_agent_queue_using_subcommand
    set -l cmd (__fish_agent_queue_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c agent-queue -n "__fish_agent_queue_needs_command" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_needs_command" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -s V -l version -d 'Print version'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "parse" -d 'Print a task file as JSON (needs no config)'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "free-session" -d 'Print the first free pool session; exit 1 when none is free'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "dispatch" -d 'Dispatch one task file to a free pool session, or to the named session'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "scan" -d 'Recover what crashed, then dispatch every pending task while pool sessions are free'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "mark-idle" -d 'Mark a session idle (default: the one holding $TMUX_PANE), recycle it and give it the next task'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "status" -d 'Show every session and each project\'s pending count'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "history" -d 'Show what happened to tasks, from the history journal'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "demo" -d 'Run the scan / mark-idle cycle on an embedded example, on a private tmux server'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "submit" -d 'Write a task into a project\'s inbox safely (staged, flushed, renamed)'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "hook" -d 'Claude Code\'s hooks call this with their JSON on stdin: receipts, the task\'s end'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "statusline" -d 'Claude Code\'s status line calls this with its JSON on stdin: records the account\'s usage, prints one line'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "clear-cooldown" -d 'Let sessions take tasks again before their cooldown ends (after fixing its cause)'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "cancel" -d 'Cancel tasks: pending ones stay unrun, held ones have their agent stopped'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "requeue" -d 'Put finished (.dispatched, .rejected, .cancelled) tasks back into their inbox'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "pause" -d 'Hold pools, sessions or projects: they take no new task until resume'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "resume" -d 'Undo pause'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "peek" -d 'Show what a session\'s agent shows now, with its task; types nothing'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "doctor" -d 'Check what a first run trips on, one line per check; changes nothing'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "prune" -d 'Archive finished task files, and remove finished tasks\' worktrees whose branch is merged'
complete -c agent-queue -n "__fish_agent_queue_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand parse" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand parse" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand parse" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand parse" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand parse" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -l pool -d 'Only this pool [default: the first pool, in config order, that has one]' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand free-session" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -l session -d 'Dispatch into this session (pool or dedicated) instead of the first free pool session' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand dispatch" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -l dry-run -d 'Print the plan and change nothing'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand scan" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -l no-next -d 'Do not give the session its next task'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand mark-idle" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand status" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand status" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand status" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand status" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand status" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -l session -d 'Only events of this session' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -l project -d 'Only events of this project folder, or of tasks under it' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -l since -d 'Only events since TIME: 2026-11-24T10:00:00Z, 2026-11-24 (midnight UTC), or a span back from now (2h, 30m, 1d)' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand demo" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand demo" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand demo" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand demo" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand demo" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l title -d 'The task\'s title' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l priority -d 'critical, high, default or low' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l tag -d 'A tag (repeatable)' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l create -d 'Create the project\'s inbox when it does not exist'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l allow-empty -d 'Write the task even when its body is empty (the agent is then sent [agent] empty_body)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand submit" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand hook" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand hook" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand hook" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand hook" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand hook" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand statusline" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand statusline" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand statusline" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand statusline" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand statusline" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -l account -d 'Also lift this account\'s usage limit (e.g. after a plan upgrade); repeatable' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -l forget-agent -d 'The agent agent-queue started in the named sessions is gone (killed with -9): forget its report, so the session is free again once at its shell'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand clear-cooldown" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand cancel" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand cancel" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand cancel" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand cancel" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand requeue" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand requeue" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand requeue" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand requeue" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand requeue" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -l pool -d 'A pool (repeatable) [default, with no selector: everything]' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -l session -d 'A session (repeatable)' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -l project -d 'A project folder (repeatable)' -r -f -a "(__fish_complete_directories)"
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand pause" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -l pool -d 'A pool (repeatable) [default, with no selector: everything]' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -l session -d 'A session (repeatable)' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -l project -d 'A project folder (repeatable)' -r -f -a "(__fish_complete_directories)"
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand resume" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -l lines -d 'How many of the last non-blank screen lines' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand peek" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand doctor" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand doctor" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand doctor" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand doctor" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -l older-than -d 'Only task files whose last rename is older than this (7d, 12h, 30m, 0s)' -r
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -l config -d 'Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]' -r -F
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -l dry-run -d 'Print what would be archived and removed, and change nothing'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -l json -d 'Print one JSON object per line on stdout, for pipelines'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -s q -l quiet -d 'Silence the informational lines on stderr (errors still show)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -s v -l verbose -d 'Also log each step on stderr'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "parse" -d 'Print a task file as JSON (needs no config)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "free-session" -d 'Print the first free pool session; exit 1 when none is free'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "dispatch" -d 'Dispatch one task file to a free pool session, or to the named session'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "scan" -d 'Recover what crashed, then dispatch every pending task while pool sessions are free'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "mark-idle" -d 'Mark a session idle (default: the one holding $TMUX_PANE), recycle it and give it the next task'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "status" -d 'Show every session and each project\'s pending count'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "history" -d 'Show what happened to tasks, from the history journal'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "demo" -d 'Run the scan / mark-idle cycle on an embedded example, on a private tmux server'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "submit" -d 'Write a task into a project\'s inbox safely (staged, flushed, renamed)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "hook" -d 'Claude Code\'s hooks call this with their JSON on stdin: receipts, the task\'s end'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "statusline" -d 'Claude Code\'s status line calls this with its JSON on stdin: records the account\'s usage, prints one line'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "clear-cooldown" -d 'Let sessions take tasks again before their cooldown ends (after fixing its cause)'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "cancel" -d 'Cancel tasks: pending ones stay unrun, held ones have their agent stopped'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "requeue" -d 'Put finished (.dispatched, .rejected, .cancelled) tasks back into their inbox'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "pause" -d 'Hold pools, sessions or projects: they take no new task until resume'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "resume" -d 'Undo pause'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "peek" -d 'Show what a session\'s agent shows now, with its task; types nothing'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "doctor" -d 'Check what a first run trips on, one line per check; changes nothing'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "prune" -d 'Archive finished task files, and remove finished tasks\' worktrees whose branch is merged'
complete -c agent-queue -n "__fish_agent_queue_using_subcommand help; and not __fish_seen_subcommand_from parse free-session dispatch scan mark-idle status history demo submit hook statusline clear-cooldown cancel requeue pause resume peek doctor prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
