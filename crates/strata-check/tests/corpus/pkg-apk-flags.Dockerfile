FROM alpine:3.19 AS build
RUN apk add --no-cache -t .deps python3=3.11.8-r0 \
 && apk add --no-cache --repository http://dl-cdn.alpinelinux.org/alpine/edge/testing hub=2.14 \
 && apk add --no-cache -X https://mirror/edge/main --virtual=.v nodejs=20.12.1-r0
RUN apk add --no-cache --root /sysroot zlib=1.3.1-r0
RUN apk info curl && apk del curl
RUN echo "$(apk add --no-cache tini)" && apk -U upgrade
RUN (cd /tmp && apk add --no-cache file) || true
RUN set -eux; \
    apk add --no-cache --virtual .fetch-deps gnupg=2.4.4-r0; \
    for p in a b; do apk add --no-cache "$p"; done
