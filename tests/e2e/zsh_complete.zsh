# Drive zsh's completion system as a terminal user would, for tests/e2e/cli_surface.py:
#   zsh -f zsh_complete.zsh FPATH_DIR OUT_FILE 'line 1' 'line 2' ...
# An interactive zsh runs on a pseudo-terminal (zsh/zpty) with compinit and FPATH_DIR on
# fpath; each line is typed and completed with TAB. A compadd wrapper appends the matches
# each call adds (compadd -O: matched against the word, not added) to OUT_FILE, after a
# '#line' marker per line. The first completion after compinit is lost, so one is
# typed first and left out.
zmodload zsh/zpty || exit 77
local dir=$1 out=$2 line
shift 2
zpty z zsh -f -i
zpty -w z "PS1=''; RPS1=''; fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd() {
  if [[ \${(j: :)@} == *-[OAD]* ]]; then builtin compadd \"\$@\"; return; fi
  local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >> ${(q)out}
  builtin compadd \"\$@\"
}"
zpty -w z "zstyle ':completion:*' insert-tab false; bindkey '^I' complete-word"
integer n=0
for l in 'pyc-tool ' "$@"; do
  (( n++ )) && zpty -w z "print -r -- '#line' >> ${(q)out}"
  zpty -w -n z "$l"$'\t'$'\x15'
  # The typed command is echoed as __END\$(( n ))__, only its output reads __END<n>__.
  zpty -w z "print __END\$(( $n ))__"
  zpty -r z line "*__END${n}__*" || { print -u2 "zsh gave no answer for: $l"; exit 2; }
done
zpty -d z
