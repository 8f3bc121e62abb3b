# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_opsbook_global_optspecs
    string join \n config= format= pg= redis= timeout= q/quiet v/verbose no-color textfile= wide target= all h/help V/version
end

function __fish_opsbook_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_opsbook_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_opsbook_using_subcommand
    set -l cmd (__fish_opsbook_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c opsbook -n "__fish_opsbook_needs_command" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_needs_command" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_needs_command" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_needs_command" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_needs_command" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_needs_command" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_needs_command" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_needs_command" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_needs_command" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_needs_command" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_needs_command" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_needs_command" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_needs_command" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "check" -d 'Run a checklist (the morning runbook, as one report)'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "backup" -d 'Take, list, verify and prune verified logical backups'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "restore" -d 'Restore a backup into a new database, prove it complete, then swap it in'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "diagnose" -d 'Find the cause: lock trees, memory growth, network and slow queries'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "bench" -d 'Measure a query (the ranking, a named one or --sql) from N clients against its latency target'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "runbook" -d 'Run, list, show, validate and schedule YAML runbooks of opsbook commands'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "replica-setup" -d 'Set up streaming replication: prepare the primary, then clone a standby from it'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "replica" -d 'Show replication health, or promote a standby'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "sandbox" -d 'Start, show or stop a throwaway PostgreSQL + Redis to try opsbook on'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "config" -d 'Show or validate the configuration'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "generate" -d 'Regenerate man/ and completions/ from the command tree (for developers)'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "monitor" -d 'Take a snapshot of host, PostgreSQL, Redis and RQ numbers (or one every --watch) and send alerts'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "report" -d 'Show the run history\'s trends as sparklines, or write them as a self-contained HTML page'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "pitr" -d 'Set up, back up and check point-in-time recovery through pgBackRest'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "cluster" -d 'Who is primary across the HA stack: every node, Patroni, the Sentinels and HAProxy'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "targets" -d 'Work with the inventory of targets (`targets:` in the config) that --target and --all select'
complete -c opsbook -n "__fish_opsbook_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -f -a "morning" -d 'The morning checklist: PostgreSQL, Redis, last night\'s backup, services, journal, host'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -f -a "health" -d 'The seeds\' /health endpoint as a check: PostgreSQL, Redis, RQ queues, app health URLs'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -f -a "night" -d 'The night checklist: disk projection, stale statistics, backup retention, database growth; --cleanup and --maintain act'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -f -a "afternoon" -d 'The afternoon performance checklist: slow statements, bloat, unused indexes, sequential scans, long and idle transactions, lock waits, wraparound, cache, today\'s connection peak'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and not __fish_seen_subcommand_from morning health night afternoon help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l no-record -d 'Do not record this run\'s database sizes in the run history'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from morning" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l queue -d 'RQ queue to check (repeatable; default: config health.queues, else every queue in rq:queues)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l url -d 'Application health URL to GET besides config health.urls (repeatable)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from health" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l maintain -d 'VACUUM (ANALYZE) tables over the dead-tuple floors and REINDEX INDEX CONCURRENTLY bloated indexes, one at a time'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l cleanup -d 'Delete old files in cleanup.log_dirs and backups outside backup.keep / backup.keep_days'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l dry-run -d 'Print the plan of --maintain / --cleanup and change nothing'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l yes -d 'Go ahead without the typed confirmation (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l act-only -d 'Report only what --maintain / --cleanup planned and did (and PostgreSQL when it is down), not the read-only night findings: for a runbook step after a `check night` step'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l no-record -d 'Do not record this run\'s disk usage and database sizes in the run history'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from night" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l top -d 'How many slow statements to list' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l exact -d 'Measure bloat with pgstattuple (reads every page of each relation above the size floor) instead of estimating it from the catalog'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l no-record -d 'Do not record this run\'s connection count in the run history'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from afternoon" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "morning" -d 'The morning checklist: PostgreSQL, Redis, last night\'s backup, services, journal, host'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "health" -d 'The seeds\' /health endpoint as a check: PostgreSQL, Redis, RQ queues, app health URLs'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "night" -d 'The night checklist: disk projection, stale statistics, backup retention, database growth; --cleanup and --maintain act'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "afternoon" -d 'The afternoon performance checklist: slow statements, bloat, unused indexes, sequential scans, long and idle transactions, lock waits, wraparound, cache, today\'s connection peak'
complete -c opsbook -n "__fish_opsbook_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l db -d 'Database to back up (default: the connection\'s database)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l dir -d 'Backup directory, one sub-directory per database (default: config backup.dir)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l jobs -d 'Compression threads (default: the number of CPUs, at most 8)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l compress -d 'zstd[:1-19], gzip[:1-9] or none; zstd:1 keeps up with pg_dump and is within 5 % of the size of gzip -9' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l keep -d 'Keep the newest N backups of each database (default: config backup.keep)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l keep-days -d 'Keep backups younger than D days (default: config backup.keep_days)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l rdb-method -d 'How --rdb takes the snapshot: auto (bgsave when the server\'s dir is readable here), bgsave, or sync (the replica protocol)' -r -f -a "auto\t''
bgsave\t''
sync\t''"
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l remote -d 'Also stream each database\'s backup (and the globals, or the --rdb snapshot) to this remote (remotes.NAME) while it is written, encrypted when it says so' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l all -d 'Every database that accepts connections, plus the globals (roles, tablespaces)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l yes -d 'Apply retention without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l rdb -d 'Snapshot Redis (BGSAVE and its file when the server is on this host, else an RDB over the replica protocol, as `redis-cli --rdb`) instead of a database, into <dir>/_redis/ (the server is --redis URL); with --remote the snapshot is copied there too'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l remote-only -d 'With --remote: keep no local archive (hosts without room for one); the copy on the remote is the backup, listed by `backup list --remote`'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -f -a "list" -d 'Backups in the directory, newest first: age, size, verified, rows'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -f -a "verify" -d 'Check a backup: its sha256 and that pg_restore reads its table of contents'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -f -a "prune" -d 'Remove backups outside the retention policy (never the newest verified one)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l db -d 'Only this database\'s backups' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l dir -d 'Backup directory, one sub-directory per database (default: config backup.dir)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l remote -d 'List the copies on this remote (remotes.NAME) instead of the directory' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l jobs -d 'pg_restore jobs for the restore test' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l dir -d 'Backup directory, one sub-directory per database (default: config backup.dir)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l remote -d 'Verify the copy on this remote (remotes.NAME): download, decrypt, check (it is downloaded into a private directory under the backup directory, then removed)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l restore-test -d 'Also restore it into a throwaway local cluster and compare every table\'s row count'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l db -d 'Only this database\'s backups' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dir -d 'Backup directory, one sub-directory per database (default: config backup.dir)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep -d 'Keep the newest N backups of each database (default: config backup.keep)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-days -d 'Keep backups younger than D days (default: config backup.keep_days)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l remote -d 'Prune the copies on this remote (remotes.NAME) instead of the directory' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be removed, remove nothing'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l yes -d 'Remove without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'Backups in the directory, newest first: age, size, verified, rows'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check a backup: its sha256 and that pg_restore reads its table of contents'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove backups outside the retention policy (never the newest verified one)'
complete -c opsbook -n "__fish_opsbook_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l db -d 'The database to replace (default: the backup\'s database)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l into -d 'Restore side by side into this new database; nothing is swapped' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l jobs -d 'pg_restore jobs; above 1 the archive is first decompressed next to it' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l stop-service -d 'A systemd unit to stop before the swap and start after it (repeatable)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l dir -d 'Backup directory, one sub-directory per database (default: config backup.dir)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l remote -d 'Restore the copy on this remote (remotes.NAME): downloaded and decrypted into a private directory under the backup directory first (removed afterwards); with --rdb, a Redis snapshot\'s copy; with --to or --rehearse: recover from the remote\'s pgBackRest repository (`pitr setup --remote`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l to -d 'Recover the pgBackRest stanza to this time (\'2026-12-05 09:59:00+00\') in a new data directory' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l to-lsn -d 'Recover to this WAL location (0/3000060)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l to-xid -d 'Recover to this transaction id' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l to-name -d 'Recover to this restore point (pg_create_restore_point)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l data-dir -d 'The new data directory (must not exist or be empty; default: beside the stanza\'s pg1-path)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l wait -d 'Seconds to wait for recovery to reach its target' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l stanza -d 'The pgBackRest stanza (default: config `pitr.stanza`, else main)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l pgbackrest-config -d 'The pgBackRest config file opsbook writes and reads (default: config `pitr.config`, else /etc/pgbackrest/opsbook-<stanza>.conf)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l yes -d 'Go ahead without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l dry-run -d 'Show the plan and verify the archive; change nothing'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l rdb -d 'Restore a Redis snapshot (_redis/<stamp> or latest): place its RDB as the server\'s dir/dbfilename for a restart; the server is --redis URL'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l check -d 'With --rdb, after the restart: compare the server\'s keys per database with the snapshot'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l promote -d 'At the target: end recovery and run it as a primary beside the live cluster (asks; --yes)'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l hand-back -d 'At the target: stop it and print its data directory'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l rehearse -d 'A measured recovery drill in a throwaway directory, removed afterwards (default target: the newest backup)'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand restore" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "config" -d 'Size PostgreSQL and Redis memory together; plan, apply and roll back the settings'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "locks" -d 'Show the lock blocking tree; cancel or terminate a root blocker'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "memory" -d 'Sample memory over time and tell a leak from a sawtooth'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "network" -d 'Time HTTP endpoints and TCP connects, count socket states'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "queries" -d 'Top statements, index advice and unused indexes from pg_stat_statements'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and not __fish_seen_subcommand_from config locks memory network queries help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l profile -d 'The workload pgtune\'s formulas are chosen for' -r -f -a "web\t'web application (the default)'
oltp\t'online transaction processing'
dw\t'data warehouse'
mixed\t'web and reporting together'
desktop\t'a developer\'s machine'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l rollback -d 'Undo an --apply: run the rollback file it wrote, then reload' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l apply -d 'Apply the plan with ALTER SYSTEM and reload (a rollback file is written first)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l yes -d 'Do not ask (required with --apply or --rollback when stdin is not a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from config" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l min-wait -d 'Only report waits at least this long (250ms, 5s, 1m)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l watch -d 'Print a fresh tree every SECS until Ctrl-C; the final one decides the exit code' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l cancel -d 'Cancel the running query of session PID (pg_cancel_backend)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l terminate -d 'End session PID (pg_terminate_backend); its open transaction rolls back' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l yes -d 'Act without the typed confirmation (required when stdin is not a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l force -d 'Allow --cancel / --terminate of a session that blocks nobody'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from locks" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l duration -d 'How long to sample (30s, 10m, 1h); Ctrl-C stops early and analyses what was sampled' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l interval -d 'Time between samples (a trend needs 10 samples)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l pid -d 'Also sample the resident memory (RSS) of this process' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l process -d 'Also sample the summed RSS of every process with this name (its comm or argv[0])' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from memory" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l endpoint -d 'An HTTP(S) URL to time, besides the config\'s network.endpoints (repeatable)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l host -d 'A HOST:PORT to measure TCP connect latency to, besides the config\'s network.hosts (repeatable)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from network" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l limit -d 'How many statements each top list shows' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l min-rows -d 'Only tables with at least this many live rows get index advice' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l min-calls -d 'Only statements called at least this often get index advice (the seed\'s 1000)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l explain -d 'EXPLAIN (ANALYZE, BUFFERS) the statement with this pg_stat_statements queryid (SELECT only, read-only transaction)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from queries" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "config" -d 'Size PostgreSQL and Redis memory together; plan, apply and roll back the settings'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "locks" -d 'Show the lock blocking tree; cancel or terminate a root blocker'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "memory" -d 'Sample memory over time and tell a leak from a sawtooth'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "network" -d 'Time HTTP endpoints and TCP connects, count socket states'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "queries" -d 'Top statements, index advice and unused indexes from pg_stat_statements'
complete -c opsbook -n "__fish_opsbook_using_subcommand diagnose; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l sql -d 'Benchmark this SQL statement instead of a named query' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l param -d 'A value for $1, $2 ... (repeat in order; replaces the named query\'s params)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s c -l clients -d 'Concurrent clients, one connection each' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l duration -d 'How long to measure (after the warmup)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s t -l transactions -d 'Transactions each client runs instead of a duration (like pgbench -t)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l warmup -d 'Run this long before measuring; nothing from the warmup is recorded' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l protocol -d 'How statements are sent' -r -f -a "prepared\t'Prepare once per client, then Bind/Execute (pgbench -M prepared)'
simple\t'Send the SQL text each time (pgbench -M simple); no parameters'"
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s R -l rate -d 'Open loop: R transactions per second in all (Poisson arrivals); latency counts from the scheduled start, like pgbench -R' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l target-ms -d 'The p95 latency target in milliseconds (default: the named query\'s, 50 for ranking)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l generate -d 'First build the seeds\' schema with USERS synthetic users (~20 invites each) in a scratch database' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l into -d 'The database --generate fills and the benchmark runs in (default opsbook_bench)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l explain -d 'Also run EXPLAIN (ANALYZE, BUFFERS) once and say what costs the time and what would fix it'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand bench" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "list" -d 'The shipped and installed runbooks'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "show" -d 'A runbook\'s steps as a table'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "validate" -d 'Check runbooks without running them: schema, every step through the command parser, cycles'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "run" -d 'Run a runbook\'s steps in order'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "schedule" -d 'Print a crontab line or systemd units for the runbook\'s schedule'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and not __fish_seen_subcommand_from list show validate run schedule help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l dry-run -d 'Print the plan and run nothing'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l yes -d 'Run `confirm: true` steps without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l print -d 'What to print' -r -f -a "cron\t'One crontab line'
systemd\t'A systemd service + timer pair'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from schedule" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "list" -d 'The shipped and installed runbooks'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "show" -d 'A runbook\'s steps as a table'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check runbooks without running them: schema, every step through the command parser, cycles'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run a runbook\'s steps in order'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "schedule" -d 'Print a crontab line or systemd units for the runbook\'s schedule'
complete -c opsbook -n "__fish_opsbook_using_subcommand runbook; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -f -a "primary" -d 'Check and prepare this primary for a standby at ADDR (settings, role, pg_hba.conf, slot)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -f -a "standby" -d 'Clone a standby from the primary with pg_basebackup and start it streaming'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and not __fish_seen_subcommand_from primary standby help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l standby-addr -d 'The standby\'s IP address, as the primary sees its connections' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l user -d 'The replication role' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l slot -d 'The physical replication slot (default: standby_<ADDR with _>)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l password-file -d 'Write a newly generated password here (0600); without it the password is shown once on the terminal' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l rotate-password -d 'Give an existing role a new generated password'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l restart -d 'Restart the server when a changed setting needs it (pg_ctl, or systemctl for a systemd unit)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l yes -d 'Go ahead without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l dry-run -d 'Run the checks and print the plan; change nothing'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from primary" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l primary -d 'The primary, as HOST or HOST:PORT ([v6]:PORT); port 5432 by default' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l data-dir -d 'The standby\'s data directory (missing or empty; see --force)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l port -d 'The port this standby listens on (written to its postgresql.auto.conf)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l slot -d 'The primary\'s slot (default: standby_<the address this host reaches the primary from>)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l user -d 'The replication role' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l password-file -d 'A file whose first line is the replication password (0600; `replica-setup primary` wrote it)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l wait -d 'Seconds to wait for streaming after --start' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l start -d 'Start the standby (pg_ctl as the data directory\'s owner) and wait until it streams'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l force -d 'Move a non-empty data directory aside (dated name) instead of refusing; nothing is deleted'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from standby" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from help" -f -a "primary" -d 'Check and prepare this primary for a standby at ADDR (settings, role, pg_hba.conf, slot)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from help" -f -a "standby" -d 'Clone a standby from the primary with pg_basebackup and start it streaming'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica-setup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -f -a "status" -d 'On a primary: every standby and slot; on a standby: its WAL receiver and replay delay'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -f -a "promote" -d 'Promote a standby (pg_promote), or move the primary through Patroni or the Sentinels'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and not __fish_seen_subcommand_from status promote help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l wait -d 'Seconds to wait for the server to leave recovery; through an engine, until every source names the new primary' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l candidate -d 'The Patroni member to become the leader' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l yes -d 'Go ahead without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l switchover -d 'Through Patroni, planned: the healthy leader hands over (POST /switchover) to --candidate or the best replica'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l failover -d 'Through Patroni, the leader down: --candidate takes over (POST /failover)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l sentinel-failover -d 'Through the Sentinels: SENTINEL FAILOVER of the master they watch (--target: a Sentinel or Redis target)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from promote" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from help" -f -a "status" -d 'On a primary: every standby and slot; on a standby: its WAL receiver and replay delay'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from help" -f -a "promote" -d 'Promote a standby (pg_promote), or move the primary through Patroni or the Sentinels'
complete -c opsbook -n "__fish_opsbook_using_subcommand replica; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -f -a "up" -d 'Create and start the sandbox (initdb + pg_ctl, redis-server) and print how to use it'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -f -a "env" -d 'Print `export` lines that point opsbook, psql and redis-cli at the sandbox'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -f -a "status" -d 'Show whether the sandbox\'s servers are running'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -f -a "down" -d 'Stop both servers and remove the sandbox directory'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and not __fish_seen_subcommand_from up env status down help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l dir -d 'Sandbox directory (default: $OPSBOOK_SANDBOX_DIR, else <tmp>/opsbook-sandbox-<uid>)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l demo-scale -d 'Multiply the demo data: 1 = 5,000 users and 20,000 invites; 400 is a database of about 1.1 GB (for the backup benchmark)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l demo-data -d 'Load a small schema shaped like the seeds\' (users_global, global_unique_invited_users, competitions_global) into database opsbook_demo and take a first backup of it'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l no-redis -d 'Do not start redis-server'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l ha -d 'Also start the HA engines on loopback: a single-node etcd, two Patroni-managed PostgreSQL nodes (leader + streaming replica), a Redis replica with three Sentinels, and HAProxy (pg_write / redis_write backends, stats page and socket); the config gains their `targets:`'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from up" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l dir -d 'Sandbox directory (default: $OPSBOOK_SANDBOX_DIR, else <tmp>/opsbook-sandbox-<uid>)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from env" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l dir -d 'Sandbox directory (default: $OPSBOOK_SANDBOX_DIR, else <tmp>/opsbook-sandbox-<uid>)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l dir -d 'Sandbox directory (default: $OPSBOOK_SANDBOX_DIR, else <tmp>/opsbook-sandbox-<uid>)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from down" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "up" -d 'Create and start the sandbox (initdb + pg_ctl, redis-server) and print how to use it'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "env" -d 'Print `export` lines that point opsbook, psql and redis-cli at the sandbox'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show whether the sandbox\'s servers are running'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "down" -d 'Stop both servers and remove the sandbox directory'
complete -c opsbook -n "__fish_opsbook_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "show" -d 'Print the effective configuration (file, environment and flags applied; secrets masked)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "check" -d 'Validate a config file: syntax, unknown keys, types, thresholds, secret file modes'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective configuration (file, environment and flags applied; secrets masked)'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate a config file: syntax, unknown keys, types, thresholds, secret file modes'
complete -c opsbook -n "__fish_opsbook_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l dynamic -d 'Complete runbook names and backup ids too, by calling opsbook at each TAB (bash, zsh, fish, elvish)'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand completions" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l out -d 'The project directory to write man/, completions/ and dist/systemd/ under' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l check -d 'Only compare; report the stale files and exit 2 when any differs'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand generate" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l watch -d 'Take a snapshot every INTERVAL (30s, 1m, ...) until Ctrl-C or --count' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l count -d 'With --watch: stop after N snapshots' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l no-record -d 'Do not record this run\'s numbers (connection count, CPU counters) in the run history'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l no-notify -d 'Send no notification this run (findings and exit status are the same)'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand monitor" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l since -d 'How far back to look (7d, 30d, 90d, ...)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l html -d 'Write the charts as one self-contained HTML page to FILE (replaced atomically, mode 0644)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand report" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -f -a "setup" -d 'Write the pgBackRest stanza config, turn WAL archiving on (ALTER SYSTEM), create and check the stanza'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -f -a "backup" -d 'Take a pgBackRest backup (full, diff or incr) and show the stanza\'s backups'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -f -a "status" -d 'Show the backups, the archived WAL range and the server\'s archiver (pg_stat_archiver)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and not __fish_seen_subcommand_from setup backup status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l stanza -d 'The pgBackRest stanza (default: config `pitr.stanza`, else main)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l pgbackrest-config -d 'The pgBackRest config file opsbook writes and reads (default: config `pitr.config`, else /etc/pgbackrest/opsbook-<stanza>.conf)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l repo -d 'The local repository directory (owned by the PostgreSQL account)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l retention-full -d 'Full backups to keep (repo1-retention-full, and repo2\'s with --remote)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l remote -d 'Add this remote (remotes.NAME, https) as the S3 repository repo2: WAL is archived to both (default: config pitr.remote)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l remote-only -d 'The remote\'s S3 repository is the only one (repo1), for hosts without room for a local repository; --repo then holds only pgBackRest\'s logs and locks'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l yes -d 'Go ahead without asking (needed when not on a terminal)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from setup" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l stanza -d 'The pgBackRest stanza (default: config `pitr.stanza`, else main)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l pgbackrest-config -d 'The pgBackRest config file opsbook writes and reads (default: config `pitr.config`, else /etc/pgbackrest/opsbook-<stanza>.conf)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l type -d 'full copies everything; diff what changed since the last full; incr since the last backup' -r -f -a "full\t''
diff\t''
incr\t''"
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l remote -d 'Back up into the S3 repository of this remote (`pitr setup --remote NAME`) instead of the local one' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from backup" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l stanza -d 'The pgBackRest stanza (default: config `pitr.stanza`, else main)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l pgbackrest-config -d 'The pgBackRest config file opsbook writes and reads (default: config `pitr.config`, else /etc/pgbackrest/opsbook-<stanza>.conf)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from help" -f -a "setup" -d 'Write the pgBackRest stanza config, turn WAL archiving on (ALTER SYSTEM), create and check the stanza'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Take a pgBackRest backup (full, diff or incr) and show the stanza\'s backups'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the backups, the archived WAL range and the server\'s archiver (pg_stat_archiver)'
complete -c opsbook -n "__fish_opsbook_using_subcommand pitr; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -f -a "status" -d 'Every node\'s role, timeline, position and lag, what Patroni, the Sentinels and HAProxy say, and one verdict: do they all name the same primary?'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and not __fish_seen_subcommand_from status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l only -d 'Only these targets: a name or group of the config\'s `targets:` (default: all)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l heartbeat-schema -d 'The schema of the heartbeat table (it must exist)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l probe-writes -d 'Write a heartbeat on the primary (a row in SCHEMA.opsbook_heartbeat, the table created if missing) and on the Redis master (key opsbook:heartbeat:HOST), and time when each replica shows it'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "status" -d 'Every node\'s role, timeline, position and lag, what Patroni, the Sentinels and HAProxy say, and one verdict: do they all name the same primary?'
complete -c opsbook -n "__fish_opsbook_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -f -a "list" -d 'Every target (name, kind, address with secrets masked, groups, Patroni API) and group'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -f -a "discover" -d 'Print the members Patroni or a Sentinel knows as a `targets:` section to paste'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and not __fish_seen_subcommand_from list discover help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l from -d 'A target of the config: a PostgreSQL target with `patroni:`, or a Sentinel' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l patroni -d 'A Patroni REST API (http://host:8008), without a config' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l sentinel -d 'A Sentinel (redis://host:26379), without a config; needs --master' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l master -d 'The master name the Sentinel monitors' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l pg-user -d 'With --patroni: the user in the discovered nodes\' URLs' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l pg-database -d 'With --patroni: the database in the discovered nodes\' URLs' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l config -d 'Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l format -d 'Output format' -r -f -a "table\t'Human table (colour only on a terminal)'
json\t'The opsbook.report/v1 JSON document'
prometheus\t'Prometheus text exposition (for node_exporter\'s textfile collector)'
nagios\t'One Nagios/Icinga plugin line with perfdata'"
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l pg -d 'PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l redis -d 'Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l timeout -d 'Seconds allowed to connect to a server and for each statement (default: the config\'s 5 s / 10 s)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l textfile -d 'Also write the report in Prometheus text format to PATH, atomically (node_exporter\'s textfile collector)' -r -F
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l target -d 'Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)' -r
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -s q -l quiet -d 'Print nothing at all when everything is OK, else only the findings that are not OK'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -s v -l verbose -d 'Print whole summaries, hints and detail lines, of OK findings too'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l no-color -d 'Never colour the output (NO_COLOR is honoured too)'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l wide -d 'Show every column of every table and whole summaries, whatever the terminal\'s width'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -l all -d 'Run against every inventory target, concurrently, as one report'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from discover" -s V -l version -d 'Print version'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every target (name, kind, address with secrets masked, groups, Patroni API) and group'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "discover" -d 'Print the members Patroni or a Sentinel knows as a `targets:` section to paste'
complete -c opsbook -n "__fish_opsbook_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "check" -d 'Run a checklist (the morning runbook, as one report)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "backup" -d 'Take, list, verify and prune verified logical backups'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "restore" -d 'Restore a backup into a new database, prove it complete, then swap it in'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "diagnose" -d 'Find the cause: lock trees, memory growth, network and slow queries'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "bench" -d 'Measure a query (the ranking, a named one or --sql) from N clients against its latency target'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "runbook" -d 'Run, list, show, validate and schedule YAML runbooks of opsbook commands'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "replica-setup" -d 'Set up streaming replication: prepare the primary, then clone a standby from it'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "replica" -d 'Show replication health, or promote a standby'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "sandbox" -d 'Start, show or stop a throwaway PostgreSQL + Redis to try opsbook on'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "config" -d 'Show or validate the configuration'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "completions" -d 'Print a shell completion script'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "generate" -d 'Regenerate man/ and completions/ from the command tree (for developers)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "monitor" -d 'Take a snapshot of host, PostgreSQL, Redis and RQ numbers (or one every --watch) and send alerts'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "report" -d 'Show the run history\'s trends as sparklines, or write them as a self-contained HTML page'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "pitr" -d 'Set up, back up and check point-in-time recovery through pgBackRest'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "cluster" -d 'Who is primary across the HA stack: every node, Patroni, the Sentinels and HAProxy'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "targets" -d 'Work with the inventory of targets (`targets:` in the config) that --target and --all select'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and not __fish_seen_subcommand_from check backup restore diagnose bench runbook replica-setup replica sandbox config completions generate monitor report pitr cluster targets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "morning" -d 'The morning checklist: PostgreSQL, Redis, last night\'s backup, services, journal, host'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "health" -d 'The seeds\' /health endpoint as a check: PostgreSQL, Redis, RQ queues, app health URLs'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "night" -d 'The night checklist: disk projection, stale statistics, backup retention, database growth; --cleanup and --maintain act'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "afternoon" -d 'The afternoon performance checklist: slow statements, bloat, unused indexes, sequential scans, long and idle transactions, lock waits, wraparound, cache, today\'s connection peak'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'Backups in the directory, newest first: age, size, verified, rows'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Check a backup: its sha256 and that pg_restore reads its table of contents'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "prune" -d 'Remove backups outside the retention policy (never the newest verified one)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from diagnose" -f -a "config" -d 'Size PostgreSQL and Redis memory together; plan, apply and roll back the settings'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from diagnose" -f -a "locks" -d 'Show the lock blocking tree; cancel or terminate a root blocker'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from diagnose" -f -a "memory" -d 'Sample memory over time and tell a leak from a sawtooth'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from diagnose" -f -a "network" -d 'Time HTTP endpoints and TCP connects, count socket states'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from diagnose" -f -a "queries" -d 'Top statements, index advice and unused indexes from pg_stat_statements'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from runbook" -f -a "list" -d 'The shipped and installed runbooks'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from runbook" -f -a "show" -d 'A runbook\'s steps as a table'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from runbook" -f -a "validate" -d 'Check runbooks without running them: schema, every step through the command parser, cycles'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from runbook" -f -a "run" -d 'Run a runbook\'s steps in order'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from runbook" -f -a "schedule" -d 'Print a crontab line or systemd units for the runbook\'s schedule'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from replica-setup" -f -a "primary" -d 'Check and prepare this primary for a standby at ADDR (settings, role, pg_hba.conf, slot)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from replica-setup" -f -a "standby" -d 'Clone a standby from the primary with pg_basebackup and start it streaming'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from replica" -f -a "status" -d 'On a primary: every standby and slot; on a standby: its WAL receiver and replay delay'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from replica" -f -a "promote" -d 'Promote a standby (pg_promote), or move the primary through Patroni or the Sentinels'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "up" -d 'Create and start the sandbox (initdb + pg_ctl, redis-server) and print how to use it'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "env" -d 'Print `export` lines that point opsbook, psql and redis-cli at the sandbox'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "status" -d 'Show whether the sandbox\'s servers are running'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "down" -d 'Stop both servers and remove the sandbox directory'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective configuration (file, environment and flags applied; secrets masked)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate a config file: syntax, unknown keys, types, thresholds, secret file modes'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from pitr" -f -a "setup" -d 'Write the pgBackRest stanza config, turn WAL archiving on (ALTER SYSTEM), create and check the stanza'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from pitr" -f -a "backup" -d 'Take a pgBackRest backup (full, diff or incr) and show the stanza\'s backups'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from pitr" -f -a "status" -d 'Show the backups, the archived WAL range and the server\'s archiver (pg_stat_archiver)'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "status" -d 'Every node\'s role, timeline, position and lag, what Patroni, the Sentinels and HAProxy say, and one verdict: do they all name the same primary?'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from targets" -f -a "list" -d 'Every target (name, kind, address with secrets masked, groups, Patroni API) and group'
complete -c opsbook -n "__fish_opsbook_using_subcommand help; and __fish_seen_subcommand_from targets" -f -a "discover" -d 'Print the members Patroni or a Sentinel knows as a `targets:` section to paste'
