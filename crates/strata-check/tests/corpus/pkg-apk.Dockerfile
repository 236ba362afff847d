FROM alpine:3.19
RUN apk add curl
RUN apk add --no-cache curl=8.5.0-r0 \
      git=2.43.0-r0 \
    && apk add --no-cache jq~1.7
RUN apk update && \
    apk add --virtual .build-deps gcc=13.2.1_git20231014-r0 && \
    apk del .build-deps
RUN --mount=type=cache,target=/var/cache/apk apk add bash=5.2.21-r0
RUN --mount=type=tmpfs,target=/var/cache/apk/x apk add make
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
# hadolint ignore=DL3018,DL3019
RUN apk add libc-dev
RUN apk --update add "openssl>3" ./local.apk && rm -rf /var/cache/apk/*
