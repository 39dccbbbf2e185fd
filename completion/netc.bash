# bash completion for netc.  The commands and options come from netc's own
# --help text, so they are the running netc's; spec arguments complete to
# .net files, options that take a file or directory to those.
_netc()
{
    local cur prev cmd words
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        words=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p')
        COMPREPLY=($(compgen -W "$words --help --version" -- "$cur"))
        return
    fi
    cmd=${COMP_WORDS[1]}
    case $prev in
    --data|--test-data)
        COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.csv' -- "$cur"))
        return ;;
    --weights|--save)
        COMPREPLY=($(compgen -f -X '!*.safetensors' -- "$cur") $(compgen -d -- "$cur"))
        return ;;
    --input|--output)
        COMPREPLY=($(compgen -f -X '!*.csv' -- "$cur") $(compgen -d -- "$cur"))
        return ;;
    --plot)
        COMPREPLY=($(compgen -f -X '!*.svg' -- "$cur") $(compgen -d -- "$cur"))
        return ;;
    --log)
        COMPREPLY=($(compgen -f -X '!*.jsonl' -- "$cur") $(compgen -d -- "$cur"))
        return ;;
    -o)
        COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -- "$cur"))
        return ;;
    --epochs|--batch|--lr|--seed|--threads|--target|--optimizers)
        return ;;
    esac
    if [[ $cur == -* ]]; then
        words=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | sed -n '/^usage:/,/^$/p' |
                grep -o -- '\(--[a-z-]*\|-o\)' | sort -u)
        COMPREPLY=($(compgen -W "$words --help" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -X '!*.net' -- "$cur") $(compgen -d -- "$cur"))
}
complete -o filenames -F _netc netc
