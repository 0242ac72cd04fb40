# fish completion for pyc-tool. Installed into share/fish/vendor_completions.d. Every
# command's options are checked against its --help by tests/e2e/test_doc_drift.py.

# The command: the first word after pyc-tool that is neither an option nor -C's value.
function __pyc_tool_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -C
                set -e words[1]
                set -q words[1]; and set -e words[1]
            case '-*'
                set -e words[1]
            case '*'
                echo $words[1]
                return 0
        end
    end
    return 1
end

function __pyc_tool_using
    set -l cmd (__pyc_tool_command)
    test "$cmd" = "$argv[1]"
end

function __pyc_tool_no_command
    not __pyc_tool_command >/dev/null
end

# Cache tags of the interpreters on PATH: python3.12 -> cpython-312 (2.x has no tag).
function __pyc_tool_tags
    for exe in (complete -C python | string match -r '^python[3-9]\.\d+(?=\t|$)' | sort -u)
        string replace -r '^python(\d+)\.(\d+)$' 'cpython-$1$2' $exe
    end
end

function __pyc_tool_pythons
    complete -C python | string match -r '^python[\d.]*(?=\t|$)' | sort -u
end

set -l cmds status inspect compile clean ignore check hook importtime cache help
complete -c pyc-tool -f

# Global options and the commands.
complete -c pyc-tool -n __pyc_tool_no_command -s C -x -a '(__fish_complete_directories)' -d 'change to a directory first'
complete -c pyc-tool -n __pyc_tool_no_command -s h -l help -d 'list the commands'
complete -c pyc-tool -n __pyc_tool_no_command -s V -l version -d 'print the version'
complete -c pyc-tool -n __pyc_tool_no_command -a status -d 'list stale, orphaned, corrupt and missing caches'
complete -c pyc-tool -n __pyc_tool_no_command -a inspect -d 'decode .pyc headers and judge them'
complete -c pyc-tool -n __pyc_tool_no_command -a compile -d 'compile sources to bytecode (compileall workalike)'
complete -c pyc-tool -n __pyc_tool_no_command -a clean -d 'remove bytecode caches precisely and safely'
complete -c pyc-tool -n __pyc_tool_no_command -a ignore -d 'make git ignore bytecode'
complete -c pyc-tool -n __pyc_tool_no_command -a check -d 'fail when bytecode would reach git'
complete -c pyc-tool -n __pyc_tool_no_command -a hook -d 'install or uninstall the pre-commit hook'
complete -c pyc-tool -n __pyc_tool_no_command -a importtime -d 'import time with and without caches'
complete -c pyc-tool -n __pyc_tool_no_command -a cache -d 'statistics, pruning and clearing of the compile cache'
complete -c pyc-tool -n __pyc_tool_no_command -a help -d 'show the options of a command'
complete -c pyc-tool -n '__pyc_tool_using help' -a "$cmds"

# Every command has -h/--help, and the other common options (docs/cli.md).
for c in $cmds
    complete -c pyc-tool -n "__pyc_tool_using $c" -s h -l help -d 'show the options'
end
for c in (string match -v help $cmds)
    complete -c pyc-tool -n "__pyc_tool_using $c" -s V -l version -d 'show the version'
    complete -c pyc-tool -n "__pyc_tool_using $c" -l color -x -a 'auto always never' -d 'when to colour the output'
end

# status
set -l s '__pyc_tool_using status'
complete -c pyc-tool -n $s -F
complete -c pyc-tool -n $s -l tag -x -a '(__pyc_tool_tags)' -d 'target cache tag'
complete -c pyc-tool -n $s -l python -r -a '(__pyc_tool_pythons)' -d 'target interpreter'
complete -c pyc-tool -n $s -s o -x -a '0 1 2' -d 'optimisation level to expect'
complete -c pyc-tool -n $s -l prefix -x -a '(__fish_complete_directories)' -d 'pycache prefix'
complete -c pyc-tool -n $s -l exclude -x -d 'skip matching files and directories'
complete -c pyc-tool -n $s -l no-default-excludes -d 'also enter environments, .tox, .nox, node_modules'
complete -c pyc-tool -n $s -s j -x -d 'threads scanning subtrees'
complete -c pyc-tool -n $s -l all -d 'list fresh caches too'
complete -c pyc-tool -n $s -s v -l verbose -d 'list fresh caches too'
complete -c pyc-tool -n $s -l json -d 'JSON Lines output'
complete -c pyc-tool -n $s -s q -l quiet -d 'print nothing; the exit status tells'

# inspect
set -l s '__pyc_tool_using inspect'
complete -c pyc-tool -n $s -a '(__fish_complete_suffix .pyc)'
complete -c pyc-tool -n $s -l json -d 'one JSON object per file'
complete -c pyc-tool -n $s -s q -l quiet -d 'print nothing but errors'
complete -c pyc-tool -n $s -l prefix -x -a '(__fish_complete_directories)' -d 'pycache prefix'

# compile
set -l s '__pyc_tool_using compile'
complete -c pyc-tool -n $s -a '(__fish_complete_suffix .py)'
complete -c pyc-tool -n $s -s l -d 'do not recurse into subdirectories'
complete -c pyc-tool -n $s -s r -x -d 'maximum recursion level'
complete -c pyc-tool -n $s -s f -d 'rewrite every cache'
complete -c pyc-tool -n $s -s q -l quiet -d 'errors only; -qq prints nothing'
complete -c pyc-tool -n $s -s v -l verbose -d 'compileall Listing/Compiling lines'
complete -c pyc-tool -n $s -s b -d 'legacy placement beside the source'
complete -c pyc-tool -n $s -s d -x -a '(__fish_complete_directories)' -d 'directory prepended in tracebacks'
complete -c pyc-tool -n $s -s s -x -a '(__fish_complete_directories)' -d 'strip from the source path'
complete -c pyc-tool -n $s -s p -x -a '(__fish_complete_directories)' -d 'prepend to the source path'
complete -c pyc-tool -n $s -s x -x -d 'skip files whose path matches'
complete -c pyc-tool -n $s -s i -r -F -d 'also compile the names listed in a file'
complete -c pyc-tool -n $s -s j -l workers -x -d 'worker interpreters'
complete -c pyc-tool -n $s -l invalidation-mode -x -a 'timestamp checked-hash unchecked-hash' -d 'how the cache is validated'
complete -c pyc-tool -n $s -s o -x -a '-1 0 1 2' -d 'optimisation level'
complete -c pyc-tool -n $s -s e -x -a '(__fish_complete_directories)' -d 'skip symlinks pointing outside'
complete -c pyc-tool -n $s -l hardlink-dupes -d 'hard-link identical levels'
complete -c pyc-tool -n $s -l python -r -a '(__pyc_tool_pythons)' -d 'target interpreter'
complete -c pyc-tool -n $s -s n -l dry-run -d 'list what would be compiled and why'
complete -c pyc-tool -n $s -l json -d 'JSON Lines output'
complete -c pyc-tool -n $s -l timeout -x -d 'per-file worker time limit'
complete -c pyc-tool -n $s -l cache-dir -x -a '(__fish_complete_directories)' -d 'the compile cache'
complete -c pyc-tool -n $s -l cache-remote -x -a 'redis:// http:// https:// file:///' -d 'a remote cache after the local one'
complete -c pyc-tool -n $s -l no-cache -d 'neither the compile cache nor the probe cache'

# clean
set -l s '__pyc_tool_using clean'
complete -c pyc-tool -n $s -F
complete -c pyc-tool -n $s -l stale -d 'only caches status calls not fresh'
complete -c pyc-tool -n $s -l orphans -d 'only caches whose source is gone'
complete -c pyc-tool -n $s -l tag -x -a '(__pyc_tool_tags)' -d 'only caches with this tag'
complete -c pyc-tool -n $s -l keep-tag -x -a '(__pyc_tool_tags)' -d 'never caches with this tag'
complete -c pyc-tool -n $s -l python -r -a '(__pyc_tool_pythons)' -d 'never the caches of this interpreter'
complete -c pyc-tool -n $s -l legacy -d 'also foo.pyc beside foo.py'
complete -c pyc-tool -n $s -l sourceless -d 'also legacy foo.pyc without foo.py'
complete -c pyc-tool -n $s -l prefix -x -a '(__fish_complete_directories)' -d 'pycache prefix'
complete -c pyc-tool -n $s -l exclude -x -d 'skip entries matching a glob'
complete -c pyc-tool -n $s -l cross-mounts -d 'enter other file systems'
complete -c pyc-tool -n $s -l no-default-excludes -d 'also enter environments, .tox, .nox, node_modules'
complete -c pyc-tool -n $s -s n -l dry-run -d 'remove nothing; print what would go'
complete -c pyc-tool -n $s -l json -d 'one JSON object per removed path'
complete -c pyc-tool -n $s -s v -l verbose -d 'print each removed path'
complete -c pyc-tool -n $s -s q -l quiet -d 'no summary line'

# ignore
set -l s '__pyc_tool_using ignore'
complete -c pyc-tool -n $s -l exclude-file -d 'write info/exclude instead'
complete -c pyc-tool -n $s -l check -d 'change nothing; exit 1 when not ignored'
complete -c pyc-tool -n $s -s n -l dry-run -d 'show what would change'
complete -c pyc-tool -n $s -l untrack -d 'also remove tracked bytecode from the index'
complete -c pyc-tool -n $s -l json -d 'JSON Lines output'
complete -c pyc-tool -n $s -s q -l quiet -d 'print errors only'

# check
set -l s '__pyc_tool_using check'
complete -c pyc-tool -n $s -F
complete -c pyc-tool -n $s -l staged -d 'staged changes add bytecode (default)'
complete -c pyc-tool -n $s -l index -d 'any tracked file is bytecode'
complete -c pyc-tool -n $s -l ignore-rule -d 'git does not ignore bytecode'
complete -c pyc-tool -n $s -l json -d 'one JSON object per finding'
complete -c pyc-tool -n $s -s q -l quiet -d 'print nothing; the exit status is the answer'

# hook
set -l s '__pyc_tool_using hook'
complete -c pyc-tool -n "$s; and not __fish_seen_subcommand_from install uninstall" -a 'install uninstall'
complete -c pyc-tool -n "$s; and __fish_seen_subcommand_from install" -l chain -d 'move the existing hook aside, run it first'
complete -c pyc-tool -n "$s; and __fish_seen_subcommand_from install" -l force -d 'replace the existing hook'

# importtime (its operands are module names: nothing to offer)
set -l s '__pyc_tool_using importtime'
complete -c pyc-tool -n $s -l python -r -a '(__pyc_tool_pythons)' -d 'interpreter to measure'
complete -c pyc-tool -n $s -s n -x -d 'timed runs per scenario'
complete -c pyc-tool -n $s -l path -x -a '(__fish_complete_directories)' -d 'put a directory first on the module path'
complete -c pyc-tool -n $s -l top -x -d 'modules to list, by saving (0 = all)'
complete -c pyc-tool -n $s -s j -x -d 'workers compiling the fresh caches'
complete -c pyc-tool -n $s -l json -d 'JSON Lines output'
complete -c pyc-tool -n $s -l svg -r -F -d 'write an icicle chart of the import trees'
complete -c pyc-tool -n $s -s q -l quiet -d 'print nothing (with --svg: only the chart)'

# cache
set -l s '__pyc_tool_using cache'
complete -c pyc-tool -n "$s; and not __fish_seen_subcommand_from stats prune clear" -a 'stats prune clear'
complete -c pyc-tool -n $s -l cache-dir -x -a '(__fish_complete_directories)' -d 'the store'
complete -c pyc-tool -n $s -l max-size -x -a '100M 500M 1G 2G 5G' -d 'prune: the size to keep'
complete -c pyc-tool -n $s -l json -d 'JSON Lines output'
complete -c pyc-tool -n $s -s q -l quiet -d 'print errors only'
