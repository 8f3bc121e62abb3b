complete --keep-order --exclusive --command opsbook --arguments "(COMPLETE=fish opsbook -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
