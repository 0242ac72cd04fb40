# Drive zsh's completion system as a terminal user would, for tests/e2e/cli_surface.py:
#   zsh -f zsh_complete.zsh FPATH_DIR OUT_FILE 'line 1' 'line 2' ...
# An interactive zsh runs on a pseudo-terminal (zsh/zpty) with compinit and FPATH_DIR on
# fpath; each line is typed and completed with TAB. A compadd wrapper appends the matches
# each call adds (compadd -O: matched against the word, not added) to OUT_FILE, after a
# '#line' marker per line. Nothing is typed ahead: the next key goes only after the shell
# said it is ready (setup) or the TAB widget said it is done.
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
zpty -w z "integer tabs=0; tab() { zle complete-word; print -n \"@@TAB\$(( ++tabs ))@@\"; }"
# No list under the line: a long one would ask "do you wish to see all" and eat a key.
zpty -w z "zle -N tab; bindkey '^I' tab; zstyle ':completion:*' insert-tab false; unsetopt autolist; LISTMAX=100000"
# The typed command reads __READY\$(( 1 ))__, only its output __READY1__.
zpty -w z "print __READY\$(( 1 ))__"
zpty -r z line "*__READY1__*" || { print -u2 "zsh did not start"; exit 2; }
integer n=0
for l in "$@"; do
  print -r -- '#line' >> $out
  zpty -w -n z "$l"$'\t'
  zpty -r z line "*@@TAB$(( ++n ))@@*" || { print -u2 "zsh gave no answer for: $l"; exit 2; }
  zpty -w -n z $'\x15'
done
zpty -d z
