FROM alpine:3.19
RUN <<EOF
apk add curl
wget http://x
EOF

RUN <<EOF bash
set -e
apk add jq
EOF

RUN cat <<EOF > /x && apk add vim
hello
EOF

RUN apk add --no-cache less
