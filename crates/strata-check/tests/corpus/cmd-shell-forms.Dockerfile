FROM alpine:3.19
RUN time apk add --no-cache curl
RUN ! apk add --no-cache jq && echo ok
RUN case "$ARCH" in x86_64) apk add --no-cache musl;; *) wget https://x/y;; esac
RUN f() { apk add --no-cache "$1"; }; f bash
RUN apk add --no-cache git=2.43.0-r0 2>/dev/null || apk add --no-cache git=2.43.0-r1 &>/dev/null
RUN apk add --no-cache \
# a comment line inside the RUN
      tzdata
RUN apk add --no-cache $PKGS "curl=${CURL_V}" 'make=4.4'
RUN cat <<< "x" && apk add --no-cache file>=5 |& tee log
RUN nohup wget https://x/z & wget -q https://x/w
RUN exec apk add --no-cache tini
RUN env FOO=1 apk add less && command -v apk
RUN apk add --no-cache \
      py3-pip=23.3.1-r0 \
  && pip install --no-cache-dir flask==3.0.0 \
  && gem install rack -v 3.0
RUN if [ -n "$X" ]; then apk add --no-cache bash=5.2.21-r0; else apk add --no-cache dash; fi
RUN echo "apk add curl" > /x && echo 'wget http://x' && printf '%s\n' "yum install x"
RUN busybox wget https://x/a && exec -a name wget https://x/b
RUN command wget https://x/c; builtin ssh h; run kill 1; command -v wget
RUN exec apk add --no-cache tini=0.19.0-r2
