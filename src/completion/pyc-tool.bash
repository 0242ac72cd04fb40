# bash completion for pyc-tool                                    -*- shell-script -*-
#
# Installed as share/bash-completion/completions/pyc-tool, loaded on demand by the
# bash-completion package; `source` it by hand without that package. Every command's
# options here are checked against its --help by tests/e2e/test_doc_drift.py: a new
# command adds its name to _pyc_tool_commands and an _pyc_tool_opts_<name> line, and
# a _pyc_tool_valued_<name> line for options taking a value that no other has.

_pyc_tool_commands="status inspect compile clean ignore check hook importtime cache help"
_pyc_tool_global_opts="-C -h --help -V --version"
# Every command's (docs/cli.md, "Common options").
_pyc_tool_common_opts="--color -V --version -h --help"

_pyc_tool_opts_status="--tag --python -o --prefix --exclude --no-default-excludes -j --all -v --verbose
	--json -q --quiet $_pyc_tool_common_opts"
_pyc_tool_opts_inspect="--json -q --quiet --prefix $_pyc_tool_common_opts"
_pyc_tool_opts_compile="-l -r -f -q --quiet -v --verbose -b -d -s -p -x -i -j --workers
	--invalidation-mode -o -e --hardlink-dupes --python -n --dry-run --json --timeout --cache-dir
	--cache-remote --no-cache $_pyc_tool_common_opts"
_pyc_tool_opts_clean="--stale --orphans --tag --keep-tag --python --legacy --sourceless --prefix
	--exclude --cross-mounts --no-default-excludes -n --dry-run --json -v --verbose -q --quiet
	$_pyc_tool_common_opts"
_pyc_tool_opts_ignore="--exclude-file --check -n --dry-run --untrack --json -q --quiet
	$_pyc_tool_common_opts"
_pyc_tool_opts_check="--staged --index --ignore-rule --json -q --quiet $_pyc_tool_common_opts"
_pyc_tool_opts_hook="-h --help -V --version"
_pyc_tool_opts_hook_install="--chain --force $_pyc_tool_common_opts"
_pyc_tool_opts_importtime="--python -n --path --top -j --json --svg -q --quiet
	$_pyc_tool_common_opts"
_pyc_tool_opts_cache="--cache-dir --max-size --json -q --quiet $_pyc_tool_common_opts"

# Options whose value is the next word (or follows '=').
_pyc_tool_valued=" -C --tag --keep-tag --python --prefix --exclude -o -j --workers -r -d -s -p -x
	-i -e --invalidation-mode --timeout --color "
# Those of one command only: another command may have the same letter as a flag (clean
# -n is --dry-run).
_pyc_tool_valued_importtime=" -n --path --top --svg "
_pyc_tool_valued_cache=" --cache-dir --max-size "
_pyc_tool_valued_compile=" --cache-dir --cache-remote "

# Whether word $1 takes the next word as its value in command $2.
_pyc_tool_is_valued()
{
	[[ $_pyc_tool_valued == *" $1 "* ]] && return 0
	# Only a known command names a variable: a mistyped one may be no valid name.
	[[ -n $2 && " $_pyc_tool_commands " == *" $2 "* ]] || return 1
	local var=_pyc_tool_valued_${2//-/_}
	[[ ${!var} == *" $1 "* ]]
}

# Cache tags of the interpreters on PATH: python3.12 -> cpython-312 (2.x has no tag).
_pyc_tool_tags()
{
	local exe
	for exe in $(compgen -c python | sort -u); do
		[[ $exe =~ ^python([3-9])\.([0-9]+)$ ]] || continue
		printf 'cpython-%s%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
	done
}

# Files (and directories to descend into) whose name ends in $1, or all with no $1.
_pyc_tool_files()
{
	compopt -o filenames 2>/dev/null
	if [[ -n $1 ]]; then
		COMPREPLY+=($(compgen -d -- "$cur") $(compgen -f -X "!*$1" -- "$cur"))
	else
		COMPREPLY+=($(compgen -f -- "$cur"))
	fi
}

_pyc_tool_dirs()
{
	compopt -o filenames 2>/dev/null
	COMPREPLY+=($(compgen -d -- "$cur"))
}

# The value of option $1 for command $2.
_pyc_tool_value()
{
	case $1 in
	--invalidation-mode) COMPREPLY=($(compgen -W "timestamp checked-hash unchecked-hash" -- "$cur")) ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")) ;;
	--tag | --keep-tag) COMPREPLY=($(compgen -W "$(_pyc_tool_tags)" -- "$cur")) ;;
	--python)
		if [[ $cur == */* ]]; then
			_pyc_tool_files
		else
			COMPREPLY=($(compgen -c -- "${cur:-python}" | grep '^python[0-9.]*$' | sort -u))
		fi
		;;
	-o)
		# compile's -1 is the interpreter's own level; status expects a real one.
		local levels="0 1 2"
		[[ $2 == compile ]] && levels="-1 $levels"
		COMPREPLY=($(compgen -W "$levels" -- "$cur"))
		;;
	-C | --prefix | -e | -d | -s | -p | --path | --cache-dir) _pyc_tool_dirs ;;
	--max-size) COMPREPLY=($(compgen -W "100M 500M 1G 2G 5G" -- "$cur")) ;;
	-i | --svg) _pyc_tool_files ;;
	esac
}

# The positional arguments of command $1 (its subcommand $2 for hook).
_pyc_tool_operand()
{
	case $1 in
	status | clean | check) _pyc_tool_files ;;
	inspect) _pyc_tool_files .pyc ;;
	compile) _pyc_tool_files .py ;;
	help) COMPREPLY=($(compgen -W "${_pyc_tool_commands% help}" -- "$cur")) ;;
	hook) [[ -z $2 ]] && COMPREPLY=($(compgen -W "install uninstall" -- "$cur")) ;;
	cache) COMPREPLY=($(compgen -W "stats prune clear" -- "$cur")) ;;
	esac
}

_pyc_tool()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i cmd= sub= word opts var eq=
	COMPREPLY=()
	# --opt=value: split at '=' by bash (COMP_WORDBREAKS), or not: then the answers must
	# keep the "--opt=" they replace.
	if [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
		eq=$prev=
	elif [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = && COMP_CWORD -ge 2 ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	# The command is the first word that is neither an option nor an option's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			case $word in
			-C) ((i++)) ;;
			-*) ;;
			*) cmd=$word ;;
			esac
		elif [[ $cmd == hook && -z $sub && $word != -* ]]; then
			sub=$word
		elif _pyc_tool_is_valued "$word" "$cmd" && [[ $word != --*=* ]]; then
			((i++))
		fi
	done

	# A mistyped command gets nothing (and is no variable name to look up).
	[[ -z $cmd || " $_pyc_tool_commands " == *" $cmd "* ]] || return 0
	if _pyc_tool_is_valued "$prev" "$cmd" && [[ -n $cmd || $prev == -C ]]; then
		_pyc_tool_value "$prev" "$cmd"
		[[ -n $eq ]] && COMPREPLY=("${COMPREPLY[@]/#/$eq}")
		return 0
	fi
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_pyc_tool_global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_pyc_tool_commands" -- "$cur"))
		fi
		return 0
	fi
	if [[ $cur == -* ]]; then
		var=_pyc_tool_opts_${cmd//-/_}${sub:+_$sub}
		opts=${!var}
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi
	_pyc_tool_operand "$cmd" "$sub"
	return 0
} &&
	complete -F _pyc_tool pyc-tool

# ex: filetype=sh
